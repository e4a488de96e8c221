"""How many VMs fit follows the RAM, and destroying them gives it all back.

`vm create` until it is refused, on 128 MiB and on 512 MiB: the refusal is
"out of memory ..." (every allocation of a VM: its slot, the SVM permission
maps and the nested page tables), and the count is at least the free pages
the kernel reported at boot divided by a generous per-VM cost, so the
512 MiB machine must fit more than three times what the 128 MiB one does;
a fixed cap (a heap, an ID space) well below the RAM fails the larger one.
Then every VM is destroyed, nothing is left (`virt`: vms=0 usage=0), and a
second fill reaches the same count: no memory leaked per VM."""

from harness.scenario import scenario
from _targets import QEMU_SVM2_128M, QEMU_SVM2_512M

# A VM today: 64 KiB of guest memory, the 12 KiB IOPM (a 16 KiB block) and
# 8 KiB MSRPM, 4 nested page-table pages and two small kmalloc objects: about
# 26 pages.  32 pages (128 KiB) leaves room for fragmentation and growth.
PAGES_PER_VM_AT_MOST = 32
MOST_VMS = 20000


def _free_pages_at_boot(s):
    m = s.match(r"mm: \d+ MiB usable, (\d+) pages free after allocator metadata", s.boot_log,
                "the boot log's free page count")
    return int(m.group(1))


def _fill(s, what):
    """Create VMs until one is refused; return their ids."""
    ids = []
    for _ in range(MOST_VMS):
        r = s.cmd("vm create")
        if r.status != "ok":
            s.match(r"^out of memory", r.error, "the vm create that filled memory (%s)" % what)
            return ids
        ids.append(r.records[0]["vm"])
    s.fail("%d VMs created on %s without running out of memory" % (len(ids), s.target.mem))


def _destroy_all(s, ids):
    for vid in ids:
        s.ok("vm destroy %s" % vid)
    rec = s.ok("virt").records[0]
    s.eq((rec.get("vms"), rec.get("usage")), ("0", "0"), "virt after destroying every VM")


@scenario(targets=[QEMU_SVM2_128M, QEMU_SVM2_512M], timeout=900)
def vm_count_follows_memory(s):
    free = _free_pages_at_boot(s)
    first = _fill(s, "first fill")
    s.note("%d VMs filled %s (%d pages free at boot)" % (len(first), s.target.mem, free))
    s.check(len(first) >= free // PAGES_PER_VM_AT_MOST,
            "%d VMs fit in %d free pages: fewer than one per %d pages, so something other than "
            "RAM ran out" % (len(first), free, PAGES_PER_VM_AT_MOST))
    _destroy_all(s, first)
    second = _fill(s, "second fill")
    s.eq(len(second), len(first), "VMs of a second fill after destroying the first")
    _destroy_all(s, second)

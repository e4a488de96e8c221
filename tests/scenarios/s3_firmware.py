"""What the firmware writes while vigil sleeps in S3 (QEMU q35 + OVMF).

OVMF's resume path writes a page its memory map calls usable (its work area
at 8 MiB, between two ACPI NVS ranges); vigil keeps such firmware scratch out
of the page allocator (core/mm/firmware_scratch.c) and says so at boot.  The
debug page hash (`suspend s3 hash=1|all`) proves it: every page the kernel
owns -- and with hash=all every free page too, filled with a pattern first --
is hashed before the sleep and compared after the wake, and not one may
differ.  The cycles run as users hit the bug: 4 CPUs, two VMs created and
each run once, S3 again and again; a BUG: line (the stack canary the
firmware's write used to trip) fails the scenario through the harness."""

from harness.scenario import scenario
from _expect import QEMU_4

CYCLES = 3


def _pages(s, r, what):
    rec = r.records[0]
    s.eq(rec.get("mode"), "s3", "%s: suspend reply mode" % what)
    changed = [l for l in r.logs if "changed while asleep" in l]
    s.check(int(rec["pages_checked"]) > 0, "%s: no page hashed" % what, r.text())
    s.eq(int(rec["pages_changed"]), 0, "%s: pages changed while asleep (%s)" % (what, " | ".join(changed[:4])))


@scenario(targets=[QEMU_4], timeout=900)
def s3_firmware_leaves_kernel_pages_alone(s):
    s.boot_log_has(r"mm: kept out 0x[0-9a-f]+-0x[0-9a-f]+ \(\d+ KiB\): usable RAM between two ACPI NVS ranges",
                   "firmware scratch kept out")
    vms = [s.ok("vm create").records[0]["vm"] for _ in range(2)]
    for vm in vms:
        s.ok("vm run %s exits=5" % vm, timeout=s.scaled(120))
    # Every usable page, free ones poisoned: any firmware write into RAM
    # the map calls usable shows, wherever the kernel's data happens to be.
    _pages(s, s.ok("suspend s3 hash=all", timeout=s.scaled(300)), "hash=all")
    for n in range(CYCLES):
        _pages(s, s.ok("suspend s3 hash=1", timeout=s.scaled(300)), "cycle %d" % (n + 1))
        for vm in vms:
            s.ok("vm run %s exits=5" % vm, timeout=s.scaled(120))
        s.ok("check")
    s.eq(s.wakeups, CYCLES + 1, "QMP wake-ups")
    s.eq(s.ok("lockdep").records[0].get("violations"), "0", "lockdep violations")

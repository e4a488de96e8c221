"""Memory slots from the console (docs/design.md "Memory slots", docs/console.md).

A VM's guest memory is slot 0 (the same pages: the guest's code is there
after `vm run`).  Every change replies with the slots it made; split, merge,
resize and move keep the bytes written through the slots (`vm mem fill` then
`vm mem check`, which is shown to fail on the wrong pattern); a transaction
applies several changes as one, and a failing one changes nothing.  Every
error is named and leaves the slots as they were.  512 slots fit, the 513th
is refused.  The self-test runs the same logic on the kernel's allocator,
and a VM's slot 0 on both technologies (SVM under QEMU, VMX under Bochs)."""

from harness.scenario import scenario
from _targets import BOCHS_2, QEMU_SVM2

GROUPS = ("virt",)


def _slots(s, vm):
    return [(r["slot"], r["gpa"], r["size"], r["flags"]) for r in s.ok("vm slot list %s" % vm).where("slot")]


def _change(s, vm, line, expect):
    """Run a change; its reply must be exactly the slots in expect."""
    r = s.ok("vm slot %s" % line.replace("<vm>", vm))
    got = [(x["slot"], x["gpa"], x["size"], x["flags"]) for x in r.where("slot")]
    s.eq(got, expect, "reply of vm slot %s" % line)


def _check(s, vm, gpa, size, seed, what):
    r = s.ok("vm mem check %s gpa=%s size=%s seed=%d" % (vm, gpa, size, seed)).records[0]
    s.eq((r.get("bad"), r.get("first_bad")), ("0", "none"), "vm mem check after %s" % what)


def _refused(s, vm, line, regex):
    before = _slots(s, vm)
    s.error("vm slot %s" % line.replace("<vm>", vm), match=regex)
    s.eq(_slots(s, vm), before, "slots after the refused '%s'" % line)


@scenario(targets=[QEMU_SVM2], shared="memslot")
def memslot_changes_keep_contents(s):
    vm = s.ok("vm create").records[0]["vm"]
    s.eq(_slots(s, vm), [("0", "0x0", "0x10000", "rw")], "a new VM's slots")
    s.ok("vm run %s exits=10" % vm, timeout=s.scaled(120))
    code = s.ok("vm mem read %s gpa=0x1000" % vm).records[0]  # where both backends load it
    s.check(code["val"] != "0x0", "slot 0 holds the guest's code after vm run (read %s)" % code["val"])

    _change(s, vm, "add <vm> gpa=0x100000 size=0x8000", [("1", "0x100000", "0x8000", "rw")])
    s.ok("vm mem fill %s gpa=0x100000 size=0x8000 seed=7" % vm)
    _check(s, vm, "0x100000", "0x8000", 7, "fill")
    r = s.ok("vm mem check %s gpa=0x100000 size=0x8000 seed=8" % vm).records[0]
    s.check(r.get("bad") == "4096", "the check sees a wrong pattern (bad=%s)" % r.get("bad"))

    _change(s, vm, "split <vm> 1 at=0x103000",
            [("1", "0x100000", "0x3000", "rw"), ("2", "0x103000", "0x5000", "rw")])
    _check(s, vm, "0x100000", "0x8000", 7, "split")
    _change(s, vm, "move <vm> 2 gpa=0x103000000", [("2", "0x103000000", "0x5000", "rw")])
    s.error("vm mem read %s gpa=0x103000" % vm, match=r"^no slot at gpa 0x103000$")
    _change(s, vm, "move <vm> 2 gpa=0x103000", [("2", "0x103000", "0x5000", "rw")])
    _check(s, vm, "0x100000", "0x8000", 7, "move away and back")
    _change(s, vm, "merge <vm> 1 2", [("1", "0x100000", "0x8000", "rw")])
    _check(s, vm, "0x100000", "0x8000", 7, "merge")
    _change(s, vm, "resize <vm> 1 size=0x4000", [("1", "0x100000", "0x4000", "rw")])
    _check(s, vm, "0x100000", "0x4000", 7, "shrink")
    _change(s, vm, "resize <vm> 1 size=0x8000", [("1", "0x100000", "0x8000", "rw")])
    _check(s, vm, "0x100000", "0x4000", 7, "grow")
    r = s.ok("vm mem check %s gpa=0x104000 size=0x4000 seed=7" % vm).records[0]
    s.eq(r.get("bad"), "2048", "the grown part is fresh (zeroed), not the old bytes")
    s.ok("vm mem fill %s gpa=0x100000 size=0x8000 seed=9" % vm)
    _change(s, vm, "move <vm> 1 gpa=0x102000", [("1", "0x102000", "0x8000", "rw")])
    _check(s, vm, "0x102000", "0x8000", 9, "a move over its own old place")

    # A transaction: several changes, one step; its reply is what it made.
    _change(s, vm, "txn <vm> split 1 at=0x106000 ; move 2 gpa=0x200000 ; add gpa=0x300000 size=0x1000 ro",
            [("1", "0x102000", "0x4000", "rw"), ("2", "0x200000", "0x4000", "rw"),
             ("3", "0x300000", "0x1000", "ro")])
    s.ok("vm mem write %s gpa=0x300008 val=0x1234" % vm)
    s.eq(s.ok("vm mem read %s gpa=0x300008" % vm).records[0]["val"], "0x1234", "the host writes a ro slot")
    # A failing transaction changes nothing, even the changes before the bad one.
    _refused(s, vm, "txn <vm> del 3 ; merge 1 2", r"^change 2 \(merge\): slots 1 and 2 are not adjacent")
    stat = s.ok("vm slot stat %s" % vm).records[0]
    s.note("updates=%s inhibited=%s" % (stat["updates"], stat["inhibited"]))
    # in place: split, merge, resize x2, move over itself, the txn's split
    s.eq((stat["inhibited"], stat["mode"]), ("6", "atomic"), "updates that wanted inhibition, and the mode")
    s.ok("vm destroy %s" % vm)
    s.error("vm slot list %s" % vm, match=r"^no VM with id %s" % vm)


@scenario(targets=[QEMU_SVM2], shared="memslot")
def memslot_errors_change_nothing(s):
    vm = s.ok("vm create").records[0]["vm"]
    _change(s, vm, "add <vm> gpa=0x100000 size=0x4000", [("1", "0x100000", "0x4000", "rw")])
    _refused(s, vm, "add <vm> gpa=0x8000 size=0x10000", r"^overlap: .* overlaps slot 0 \(gpa 0x0 size 0x10000\)")
    _refused(s, vm, "add <vm> gpa=0x103000 size=0x1000", r"^overlap: .* overlaps slot 1 ")
    _refused(s, vm, "add <vm> gpa=0x200800 size=0x1000", r"^misaligned: gpa 0x200800")
    _refused(s, vm, "add <vm> gpa=0x200000 size=0x1001", r"^misaligned: size 0x1001")
    _refused(s, vm, "add <vm> gpa=0x200000 size=0", r"^zero size")
    _refused(s, vm, "add <vm> gpa=0x10000000000000 size=0x1000",
             r"^beyond the guest-physical address width: .*\((3[6-9]|4[0-8]) bits\)")
    _refused(s, vm, "del <vm> 9", r"^no slot 9$")
    _refused(s, vm, "move <vm> 9 gpa=0", r"^no slot 9$")
    _refused(s, vm, "move <vm> 1 gpa=0xf000", r"^overlap: .* overlaps slot 0 ")
    _refused(s, vm, "resize <vm> 0 size=0x200000", r"^overlap: .* overlaps slot 1 ")
    _refused(s, vm, "split <vm> 1 at=0x104000", r"^at=0x104000 is not inside slot 1")
    _refused(s, vm, "merge <vm> 0 1", r"^slots 0 and 1 are not adjacent")
    _refused(s, vm, "grow <vm> 1", r"^unknown vm slot subcommand 'grow'")
    _refused(s, vm, "txn <vm> grow 1", r"^change 1: unknown change 'grow'")
    _refused(s, vm, "txn <vm> del 1 ; add gpa=0x100000 size=0x1000 ; add gpa=0x8000 size=0x1000",
             r"^change 3 \(add\): overlap: .* overlaps slot 0 ")
    s.error("vm slot list 999", match=r"^no VM with id 999")
    s.error("vm slot add 999 gpa=0x100000 size=0x1000", match=r"^no VM with id 999")
    s.error("vm mem read 999 gpa=0", match=r"^no VM with id 999")
    s.error("vm mem read %s gpa=0x80000" % vm, match=r"^no slot at gpa 0x80000$")
    # A fill running off the end of a slot is refused before it writes anything.
    s.ok("vm mem fill %s gpa=0x100000 size=0x4000 seed=5" % vm)
    s.error("vm mem fill %s gpa=0x102000 size=0x4000 seed=6" % vm, match=r"^no slot at gpa 0x104000$")
    _check(s, vm, "0x100000", "0x4000", 5, "a refused fill")
    # Out of memory: a slot larger than the machine's RAM, refused whole.
    _refused(s, vm, "add <vm> gpa=0x100000000 size=0x100000000", r"^out of memory for 0x100000000 bytes")
    s.ok("vm destroy %s" % vm)


@scenario(targets=[QEMU_SVM2], shared="memslot")
def memslot_512_slots(s):
    vm = s.ok("vm create").records[0]["vm"]
    for i in range(1, 512):
        s.ok("vm slot add %s gpa=0x%x size=0x1000" % (vm, 0x100000 + i * 0x2000))
    slots = _slots(s, vm)
    s.eq(len(slots), 512, "slots")
    s.eq(sorted(int(x[0]) for x in slots), list(range(512)), "slot ids")
    _refused(s, vm, "add <vm> gpa=0x80000 size=0x1000", r"^too many slots: a VM holds at most 512")
    _refused(s, vm, "split <vm> 0 at=0x8000", r"^too many slots")
    s.ok("vm slot del %s 7" % vm)
    _change(s, vm, "add <vm> gpa=0x80000 size=0x1000", [("7", "0x80000", "0x1000", "rw")])
    stat = s.ok("vm slot stat %s" % vm).records[0]
    s.eq(stat["inhibited"], "0", "unrelated adds and deletes never inhibit")
    s.ok("vm destroy %s" % vm)
    s.eq(s.ok("virt").records[0].get("vms"), "0", "VMs after destroy")


@scenario(targets=[QEMU_SVM2], cmdline="memslot_update=naive")
def memslot_naive_mode(s):
    """memslot_update=naive: the same changes, published as deletes then adds,
    never inhibiting (the host tests show the gap a reader then sees)."""
    vm = s.ok("vm create").records[0]["vm"]
    _change(s, vm, "add <vm> gpa=0x100000 size=0x4000", [("1", "0x100000", "0x4000", "rw")])
    s.ok("vm mem fill %s gpa=0x100000 size=0x4000 seed=3" % vm)
    _change(s, vm, "split <vm> 1 at=0x102000",
            [("1", "0x100000", "0x2000", "rw"), ("2", "0x102000", "0x2000", "rw")])
    _change(s, vm, "merge <vm> 1 2", [("1", "0x100000", "0x4000", "rw")])
    _check(s, vm, "0x100000", "0x4000", 3, "naive split and merge")
    stat = s.ok("vm slot stat %s" % vm).records[0]
    s.eq((stat["mode"], stat["updates"], stat["inhibited"]), ("naive", "3", "0"), "vm slot stat in naive mode")
    s.ok("vm destroy %s" % vm)


@scenario(targets=[QEMU_SVM2, BOCHS_2], shared="memslot")
def memslot_selftest(s):
    s.ok("selftest memslot", timeout=s.scaled(300))

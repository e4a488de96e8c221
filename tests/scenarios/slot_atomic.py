"""Atomic slot updates under running vCPUs (docs/design.md "Atomic slot
updates"): the pattern guest on 2-4 vCPUs writes and checks its areas
continuously while `vm slot churn` splits, merges, grows, shrinks (the
slot holding exactly those areas) and moves (a slot next to it) in the
kernel, over 1,000 updates.

- atomic (the default): every one inhibits entries (`vm slot stat`), no
  vCPU ever takes an MMIO exit, no guest memory error, every vCPU goes on;
- add and delete of an unrelated slot in a loop: no inhibition, no MMIO exit;
- (QEMU) a churn in a task of its own running across a CPU offline, online
  and a simulated suspend: no deadlock, no MMIO exit, no guest error;
- memslot_update=naive: the same churn, deletes and adds published as two
  steps: the vCPUs find their memory missing (MMIO exits > 0), which shows
  the test can fail.

SVM under QEMU TCG, VMX under Bochs; BENCH memslot_split_live_1|2|4|8."""


from harness.scenario import scenario
from _live import data_slot_vm, vm_stat, wait_progress
from _targets import BOCHS_2, QEMU_SVM2, QEMU_SVM4

GROUPS = ("virt",)


def _wait_progress(s, vm, what):
    _, now = wait_progress(s, vm, what)
    return now


def _churn(s, vm, data, mover, rounds):
    r = s.ok("vm slot churn %s %s rounds=%d move=%s" % (vm, data, rounds, mover), timeout=s.scaled(900))
    rec = r.records[0]
    s.note("churn: %s" % rec)
    return rec


@scenario(targets=[QEMU_SVM4, QEMU_SVM2, BOCHS_2], timeout=1500)
def slot_atomic_churn(s):
    vm, n, data, mover = data_slot_vm(s)
    before = s.ok("vm slot stat %s" % vm).records[0]
    rec = _churn(s, vm, data, mover, 170)
    updates = int(rec["updates"])
    s.check(updates >= 1000, "at least 1000 updates (%d)" % updates)
    stat = s.ok("vm slot stat %s" % vm).records[0]
    s.note("vm slot stat: %s" % stat)
    s.eq(stat["mode"], "atomic", "mode")
    s.eq(int(stat["inhibited"]) - int(before["inhibited"]), updates, "every in-place change inhibited")
    now = _wait_progress(s, vm, "after the churn")
    vmrec, _ = vm_stat(s, vm)
    s.eq(vmrec["mmio_exits"], "0", "no MMIO exit in atomic mode")
    for v in now:
        s.eq((v["state"], v["errors"], v["mmio_exits"]), ("running", "0", "0"), "vCPU %s after the churn" % v["vcpu"])
    s.note("BENCH-like: vcpus=%d split_median_ns=%s split_max_ns=%s" %
           (n, rec["split_median_ns"], rec["split_max_ns"]))

    # Unrelated add/delete: never an inhibition, never an MMIO exit.
    inhibited = int(stat["inhibited"])
    for i in range(20):
        r = s.ok("vm slot add %s gpa=0x200000 size=0x1000" % vm)
        sid = r.where("slot")[0]["slot"]
        s.ok("vm slot del %s %s" % (vm, sid))
    stat = s.ok("vm slot stat %s" % vm).records[0]
    s.eq(int(stat["inhibited"]), inhibited, "unrelated adds and deletes inhibit nothing")
    now = _wait_progress(s, vm, "after unrelated adds and deletes")
    vmrec, _ = vm_stat(s, vm)
    s.eq(vmrec["mmio_exits"], "0", "no MMIO exit after unrelated adds and deletes")
    for v in now:
        s.eq((v["state"], v["errors"]), ("running", "0"), "vCPU %s after unrelated adds/deletes" % v["vcpu"])
    if s.target.kind == "qemu":
        _offline_and_suspend_mid_churn(s, vm, data, mover)
    s.ok("vm stop %s" % vm)
    s.ok("vm destroy %s" % vm)


def _offline_and_suspend_mid_churn(s, vm, data, mover):
    """A churn in a task of its own while CPU 1 goes offline and comes back
    and a simulated suspend freezes the vCPUs: no deadlock, no MMIO exit, no
    guest error, and the vCPUs go on."""
    before = s.ok("vm slot stat %s" % vm).records[0]
    s.ok("vm slot churn %s %s rounds=20000 move=%s bg=1" % (vm, data, mover))
    s.ok("cpu offline 1", timeout=s.scaled(120))
    s.ok("cpu online 1", timeout=s.scaled(120))
    s.ok("suspend", timeout=s.scaled(120))
    mid = s.ok("vm slot stat %s" % vm).records[0]
    rec = s.ok("vm slot churnwait %s" % vm, timeout=s.scaled(900)).records[0]
    after = s.ok("vm slot stat %s" % vm).records[0]
    s.check(int(before["updates"]) < int(mid["updates"]) < int(after["updates"]),
            "the churn ran across the offline, online and suspend (updates %s -> %s -> %s)"
            % (before["updates"], mid["updates"], after["updates"]))
    s.note("churn across offline/online/suspend: %s; stat %s" % (rec, after))
    s.eq(int(after["inhibited"]) - int(before["inhibited"]), int(rec["updates"]),
         "every update of the background churn inhibited")
    now = _wait_progress(s, vm, "after the churn across offline and suspend")
    vmrec, _ = vm_stat(s, vm)
    s.eq(vmrec["mmio_exits"], "0", "no MMIO exit across offline and suspend")
    for v in now:
        s.eq((v["state"], v["errors"]), ("running", "0"), "vCPU %s after offline and suspend" % v["vcpu"])
    r = s.cmd("check", timeout=s.scaled(60))
    s.check(r.status == "ok", "check after the churn across offline and suspend: %s" % r.error, r.text())


@scenario(targets=[QEMU_SVM2], cmdline="memslot_update=naive", timeout=1500)
def slot_atomic_naive_gap(s):
    vm, n, data, mover = data_slot_vm(s)
    rec = _churn(s, vm, data, mover, 250)
    stat = s.ok("vm slot stat %s" % vm).records[0]
    s.eq((stat["mode"], stat["inhibited"]), ("naive", "0"), "naive mode never inhibits")
    vmrec, _ = vm_stat(s, vm)
    s.note("naive: updates=%s vm mmio_exits=%s" % (rec["updates"], vmrec["mmio_exits"]))
    s.check(int(vmrec["mmio_exits"]) > 0, "naive updates leave a gap the vCPUs fall into (mmio_exits > 0)")
    s.cmd("vm stop %s" % vm)
    s.cmd("vm destroy %s" % vm)


FIGURE = r"^bench=(\w+) median=(\d+) min=(\d+) max=(\d+) unit=ns samples=(\d+)$"


@scenario(targets=[QEMU_SVM4], timeout=1500)
def slot_atomic_split_bench(s):
    """BENCH memslot_split_live_<n>: one atomic split (gate closed, kicks,
    wait, publish, zap + flush, grace period, gate open) under n running
    vCPUs of the pattern guest; figures printed, not asserted."""
    for n in (1, 2, 4, 8):
        name = "memslot_split_live_%d" % n
        r = s.ok("bench %s" % name, timeout=s.scaled(600))
        if n > s.smp:      # more vCPUs than CPUs: the bench says it skipped
            s.eq(r.lines[0], "bench=%s skipped=1" % name, "bench %s on %d CPUs" % (name, s.smp))
            continue
        m = s.match(FIGURE, r.lines[0], "bench %s" % name)
        s.check(int(m.group(5)) > 0, "%s took samples" % name)
        s.note("%s: median=%s ns max=%s ns samples=%s" % (name, m.group(2), m.group(4), m.group(5)))
    s.ok("check", timeout=s.scaled(60))

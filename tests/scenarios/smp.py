"""Every CPU up, and the concurrency the virtualization core builds on.
Each target boots with N CPUs; all must come online
(INIT-SIPI-SIPI through the trampoline, in parallel), and every in-kernel
self-test (scheduler, cross-CPU calls, NMIs, locks, lockdep) must pass on
that many CPUs.  Bochs runs the same with 4 CPUs."""

from harness.scenario import scenario
from _targets import BOCHS_VMX4, QEMU_1, QEMU_2, QEMU_4, QEMU_8, QEMU_16

GROUPS = ("cpu",)
SMP_TARGETS = [QEMU_1, QEMU_2, QEMU_4, QEMU_8, QEMU_16, BOCHS_VMX4]


def _ktap(s, r):
    """Check a KTAP reply: a plan, then one ok/not ok line per test."""
    lines = r.lines
    s.check(lines and lines[0] == "KTAP version 1", "no KTAP header", r.text())
    plan = [l for l in lines if l.startswith("1..")]
    s.eq(len(plan), 1, "KTAP plan lines")
    total = int(plan[0][3:])
    results = [l for l in lines if l.startswith("ok ") or l.startswith("not ok ")]
    s.eq(len(results), total, "KTAP result lines")
    failed = [l for l in results if l.startswith("not ok")]
    s.check(not failed, "failing selftests: %s" % "; ".join(failed), r.text())
    return total


# The self-tests of the scheduler, cross-CPU calls, locks and lockdep.  The
# lock stress tests (sync_*) have 8 tasks migrating between CPUs inside the
# critical section; under TCG with more vCPUs than host cores they take tens
# of seconds (a descheduled vCPU holding or next in line for a ticket lock
# stalls everyone), so they fail only when nothing progresses for 30 s.
CONCURRENCY_TESTS = ["sched_sleep", "sched_wakeup", "sched_migration", "sched_preemption",
                     "smp_nmi", "smp_call_single", "smp_on_each_cpu", "lockdep_planted",
                     "sync_completion", "sync_mutex", "sync_rwsem", "sync_percpu_rwsem",
                     "virt_lock_order", "cpuhp_states", "vcpu_kick"]


@scenario(targets=SMP_TARGETS, timeout=900)
def smp_all_online_and_selftests(s):
    n = s.smp
    r = s.ok("cpus")
    summary = r.where("possible")[0]
    s.eq(summary.get("online"), str(n), "online CPUs")
    s.eq(sum(1 for c in r.where("cpu") if c["state"] == "online"), n, "CPUs with state=online")
    s.boot_log_has(r"smp: %d of %d application processors online" % (n - 1, n - 1) if n > 1
                   else r"vigil: 1 possible CPUs, 1 online", "bring-up report")
    tests = CONCURRENCY_TESTS
    for name in tests:
        r = s.ok("selftest %s" % name, timeout=s.scaled(300))
        _ktap(s, r)
    s.note("%d selftests passed on %d CPUs" % (len(tests), n))
    r = s.ok("lockdep")
    s.eq(r.records[0].get("violations"), "0", "lockdep violations after the selftests")
    s.ok("check")


@scenario(targets=[QEMU_4])
def selftest_errors(s):
    s.error("selftest nosuchtest", match=r"no selftest named 'nosuchtest'")
    r = s.ok("selftest list")
    names = [rec.get("selftest") for rec in r.records]
    for want in ("sched_preemption", "sched_migration", "smp_on_each_cpu", "smp_nmi"):
        s.check(want in names, "selftest list lacks %s" % want, r.text())


@scenario(targets=[QEMU_2], cmdline="maxcpus=1")
def maxcpus_limits_cpus(s):
    r = s.ok("cpus")
    s.eq(r.where("possible")[0].get("possible"), "1", "possible CPUs with maxcpus=1")

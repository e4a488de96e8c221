"""Every CPU up, and the concurrency the virtualization core builds on
(issue: every CPU up).  Each target boots with N CPUs; all must come online
(INIT-SIPI-SIPI through the trampoline, in parallel), and every in-kernel
self-test (scheduler, cross-CPU calls, NMIs, locks, lockdep) must pass on
that many CPUs.  Bochs runs the same with 4 CPUs."""

import re

from harness.scenario import bochs, qemu, scenario
from _expect import BOCHS_GFXPAYLOAD

SMP_TARGETS = [qemu(smp=1), qemu(smp=2), qemu(smp=4), qemu(smp=8), qemu(smp=16),
               bochs(model="corei7_skylake_x", smp=4, gfxpayload=BOCHS_GFXPAYLOAD)]


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
                     "virt_lock_order", "cpuhp_states"]


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


@scenario(targets=[qemu(smp=4)])
def selftest_errors(s):
    s.error("selftest nosuchtest", match=r"no selftest named 'nosuchtest'")
    r = s.ok("selftest list")
    names = [rec.get("selftest") for rec in r.records]
    for want in ("sched_preemption", "sched_migration", "smp_on_each_cpu", "smp_nmi"):
        s.check(want in names, "selftest list lacks %s" % want, r.text())


@scenario(targets=[qemu(smp=2)], cmdline="maxcpus=1")
def maxcpus_limits_cpus(s):
    r = s.ok("cpus")
    s.eq(r.where("possible")[0].get("possible"), "1", "possible CPUs with maxcpus=1")


# The most CPUs QEMU 7.2 runs under TCG: 255 (APIC IDs 0-254; more need KVM's
# in-kernel irqchip, see README "Many CPUs").  One summary line for the
# MTRRs QEMU's APs arrive without, not one line per CPU, and nobody late.
# Progress lines every 20 ms (the bring-up takes 0.3-1.3 s here), each one a
# period after the one before: no burst catching up after a late look.
PROGRESS_MS = 20


@scenario(targets=[qemu(smp=255)], cmdline="smp_progress_ms=%d" % PROGRESS_MS,
          timeout=600, boot_timeout=900)
def smp_255_cpus(s):
    n = s.smp
    s.note("first prompt after %.1fs" % (s.con.first_prompt_at - s.con.started_at))
    progress = [(int(m.group(1)), int(m.group(2))) for m in
                (re.search(r"smp: (\d+) of %d CPUs checked in after (\d+) ms" % (n - 1), l)
                 for l in s.boot_lines) if m]
    s.check(progress, "no bring-up progress line")
    s.note("%d progress lines, the last %s" % (len(progress), progress[-1]))
    for (a0, t0), (a1, t1) in zip(progress, progress[1:]):
        s.check(a1 >= a0 and t1 - t0 >= PROGRESS_MS,
                "progress %d CPUs at %d ms then %d at %d ms" % (a0, t0, a1, t1))
    s.boot_log_has(r"smp: %d of %d application processors online" % (n - 1, n - 1), "bring-up report")
    s.boot_log_has(r"smp: %d CPUs had MTRR/PAT registers unlike the boot CPU's" % (n - 1),
                   "one MTRR summary")
    per_cpu = [l for l in s.boot_lines if re.search(r"smp: CPU \d+ (had|\(APIC)", l)]
    s.check(not per_cpu, "per-CPU bring-up lines: %s" % per_cpu[:3])
    r = s.ok("cpus", timeout=s.scaled(120))
    s.eq(r.where("possible")[0].get("online"), str(n), "online CPUs")
    s.eq(sum(1 for c in r.where("cpu") if c["state"] == "online"), n, "CPUs with state=online")
    s.ok("check", timeout=s.scaled(120))

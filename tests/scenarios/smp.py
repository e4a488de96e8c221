"""Every CPU up, and the concurrency the virtualization core builds on.
Each target boots with N CPUs; all must come online
(INIT-SIPI-SIPI through the trampoline, in parallel), and every in-kernel
self-test (scheduler, cross-CPU calls, NMIs, locks, lockdep) must pass on
that many CPUs.  Bochs runs the same with 4 CPUs."""

import re

from harness.scenario import scenario
from _targets import BOCHS_VMX4, QEMU_1, QEMU_2, QEMU_4, QEMU_8, QEMU_16, QEMU_255

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


@scenario(targets=SMP_TARGETS, timeout=900, real=True)
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


@scenario(targets=[QEMU_4], real=True)
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


@scenario(targets=[QEMU_4])
def on_each_cpu_selftest_reads_settled_hits(s):
    """`smp_on_each_cpu` once failed now and then with 'CPU 2 ran it with
    interrupts on': its callback counted the hit before recording the
    context, and the non-waiting half checked as soon as the count was
    complete.  inject smp_hit_slow holds CPU 2 for 50 ms between the two, so
    that reading too early fails every time; the self-test must wait for
    settled records (and still fails a callback really run with interrupts
    on).  With five VMs, as in the report."""
    ids = [s.ok("vm create").records[0]["vm"] for _ in range(5)]
    s.ok("inject smp_hit_slow cpu=2 count=0")
    for _ in range(3):
        _ktap(s, s.ok("selftest smp_on_each_cpu", timeout=s.scaled(120)))
    hits = s.ok("inject list").find(point="smp_hit_slow")[0].get("hits")
    s.check(int(hits) >= 33, "smp_hit_slow hit %s times (expected 11 per run)" % hits)
    s.ok("inject clear")
    for vid in ids:
        s.ok("vm destroy %s" % vid)
    s.ok("check")


@scenario(targets=[QEMU_4])
def on_each_cpu_without_memory(s):
    """on_each_cpu's allocation fails (inject on_each_cpu_nomem): it used to
    panic.  A waiting call falls back to one CPU at a time on the stack, so
    enabling and disabling virtualization on every CPU still works; the
    non-waiting half of the self-test sees the error and that no CPU ran it."""
    s.ok("inject on_each_cpu_nomem count=0")
    vm = s.ok("vm create").records[0]["vm"]
    s.eq(s.ok("virt").records[0].get("enabled"), "0-3", "enabled CPUs")
    s.ok("check")
    _ktap(s, s.ok("selftest smp_on_each_cpu", timeout=s.scaled(120)))
    s.ok("vm destroy %s" % vm)
    s.eq(s.ok("virt").records[0].get("enabled"), "none", "enabled CPUs")
    hits = int(s.ok("inject list").find(point="on_each_cpu_nomem")[0].get("hits"))
    s.check(hits >= 4, "on_each_cpu_nomem hit %d times" % hits)
    s.ok("inject clear")
    s.ok("check")


# The most CPUs QEMU 7.2 runs under TCG: 255 (APIC IDs 0-254; more need KVM's
# in-kernel irqchip, see README "Many CPUs").  One summary line for the
# MTRRs QEMU's APs arrive without, not one line per CPU, and nobody late.
# Progress lines every 20 ms (the bring-up takes 0.3-1.3 s here), each one a
# period after the one before: no burst catching up after a late look.
PROGRESS_MS = 20


@scenario(targets=[QEMU_255], cmdline="smp_progress_ms=%d" % PROGRESS_MS,
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

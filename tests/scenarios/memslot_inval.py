"""Invalidating guest memory while slots change (docs/invalidation.md): the
memslot_inval_* self-tests in the default count design and in the old rwsem
design (memslot_inval=rwsem), the hang detector naming the stuck tasks of
the old design's deadlock, the `check` invariant, `mmu_inval`, `hungtask`,
and the benches' output format (figures go to the report as notes)."""

from harness.scenario import scenario
from _targets import BOCHS_2, QEMU_SVM4

GROUPS = ("virt",)

TESTS = ("memslot_inval_nested_swap", "memslot_inval_rwsem_deadlock", "memslot_inval_concurrent")
BENCHES = ("memslot_inval_start_end", "memslot_inval_rate", "memslot_inval_swap_latency", "memslot_inval_fault",
           "memslot_inval_fault_retry", "memslot_inval_max_retries")
FIGURE = r"^bench=(\w+) median=(\d+) min=(\d+) max=(\d+) unit=([\w/]+) samples=(\d+)$"


def _selftest(s, name):
    r = s.ok("selftest %s" % name, timeout=s.scaled(300))
    s.check(any(l == "ok 1 %s" % name for l in r.lines), "%s failed" % name, r.text())
    return r


def _no_violations(s):
    s.eq(s.ok("lockdep").records[0].get("violations"), "0", "lockdep violations")


@scenario(targets=[QEMU_SVM4, BOCHS_2], timeout=600)
def memslot_inval_count(s):
    """Default design: a nested start with a swap queued completes; the old
    design's interleaving deadlocks inside its self-test (planted lockdep
    report, both tasks named) and recovers; the concurrent test keeps
    start/end on one slot array; `check` holds afterwards."""
    names = [l.split("=", 1)[1] for l in s.ok("selftest list").lines if l.startswith("selftest=")]
    for t in TESTS:
        s.check(t in names, "%s not listed by 'selftest list'" % t, "\n".join(names))
    s.eq(s.ok("mmu_inval").lines[0], "design=count", "default design")
    r = _selftest(s, "memslot_inval_nested_swap")
    s.check(any("nested start completed" in l for l in r.lines), "no completion note", r.text())
    r = _selftest(s, "memslot_inval_concurrent")
    conc = [l for l in r.lines if "design=count" in l]
    s.check(conc, "no figures from the concurrent test", r.text())
    s.note(conc[0])
    s.check(any("broken variant caught: st_broken in_progress=1 with no invalidation open" in l for l in r.lines),
            "the invariant did not catch the broken variant", r.text())
    r = _selftest(s, "memslot_inval_rwsem_deadlock")
    s.check(any("deadlocked as expected" in l for l in r.lines), "no deadlock note", r.text())
    s.log_has(r"lockdep: recursive read: a writer queued between the two read acquisitions", "recursive read report")
    s.log_has(r"hungtask: task 'inval_nester'/\d+ blocked for \d+ ms on &mi->slots_rwsem \(read\)", "nester named")
    s.log_has(r"hungtask: task 'inval_swapper'/\d+ blocked for \d+ ms on &mi->slots_rwsem \(write\)",
              "swapper named")
    s.ok("check")
    _no_violations(s)

    # hungtask: state, on, off, and a clear error that changes nothing.
    s.eq(s.ok("hungtask").lines[0].split()[0], "hungtask=off", "detector off by default")
    s.error("hungtask 5", r"bad value '5'")
    s.error("hungtask soon", r"bad value 'soon'")
    s.eq(s.ok("hungtask").lines[0].split()[0], "hungtask=off", "refused value changed nothing")
    s.eq(s.ok("hungtask 500").lines, ["hungtask=on limit_ms=500"], "detector on")
    s.eq(s.ok("hungtask off").lines, ["hungtask=off limit_ms=0"], "detector off")


@scenario(targets=[QEMU_SVM4], cmdline="memslot_inval=rwsem", timeout=600)
def memslot_inval_rwsem(s):
    """The old design selected at boot: with the hang detector on, the
    nested-start interleaving deadlocks; lockdep reports the recursive read
    the first time it is seen and khungtaskd names both stuck tasks with
    what they wait on; the self-test aborts the swap and the kernel runs on.
    Without nesting the old design works (the concurrent test)."""
    s.eq(s.ok("mmu_inval").lines[0], "design=rwsem", "design selected at boot")
    s.ok("hungtask 50")
    r = _selftest(s, "memslot_inval_rwsem_deadlock")
    s.check(any("deadlocked as expected" in l for l in r.lines), "no deadlock note", r.text())
    s.log_has(r"lockdep: WARNING: possible recursive locking detected", "lockdep report")
    s.log_has(r"lockdep: task inval_nester/\d+ .*is trying to acquire &mi->slots_rwsem \(read\)", "the read")
    s.log_has(r"lockdep: recursive read: a writer queued", "recursive read explained")
    s.log_has(r"hungtask: task 'inval_nester'/\d+ blocked for \d+ ms on &mi->slots_rwsem \(read\)", "nester named")
    s.log_has(r"hungtask: task 'inval_swapper'/\d+ blocked for \d+ ms on &mi->slots_rwsem \(write\)",
              "swapper named")
    s.check(int(s.ok("hungtask").records[0].get("reports")) >= 2, "khungtaskd reported nothing")
    s.ok("hungtask off")
    r = _selftest(s, "memslot_inval_concurrent")
    s.check(any("design=rwsem" in l for l in r.lines), "concurrent test not in the rwsem design", r.text())
    _selftest(s, "memslot_inval_nested_swap")
    s.ok("check")
    _no_violations(s)


@scenario(targets=[QEMU_SVM4], timeout=900)
def memslot_inval_bench(s):
    """The benches print well-formed figures and leave `check` holding."""
    for name in BENCHES:
        r = s.ok("bench %s" % name, timeout=s.scaled(600))
        line = [l for l in r.lines if l.startswith("bench=")]
        s.eq(len(line), 1, "figure lines of 'bench %s'" % name)
        m = s.match(FIGURE, line[0], "bench %s" % name)
        s.eq(m.group(1), name, "bench name")
        low, median, high = int(m.group(3)), int(m.group(2)), int(m.group(4))
        s.check(low <= median <= high, "%s: not min <= median <= max" % name, line[0])
        s.note(line[0])
    s.ok("check")
    _no_violations(s)

"""SRCU (core/sync/srcu.c) on real CPUs: the self-tests -- readers sleeping
and migrating inside their sections on every CPU while grace periods run, a
reader holding a grace period up (also with its CPU taken offline), a
published pointer swapped and poisoned under readers, and lockdep's report of
synchronize_srcu() inside its own read section -- then the grace-period
benches.  QEMU with 4 CPUs and Bochs (VMX model) with 4 CPUs.  The figures go
to the report as notes; only their format is checked (emulated time is
noisy)."""

from harness.scenario import scenario
from _targets import BOCHS_VMX4, QEMU_4

GROUPS = ("cpu", "bench")

SELFTESTS = ("srcu_sleeping_readers", "srcu_reader_holds_gp", "srcu_published_pointer",
             "srcu_lockdep")
BENCHES = ("srcu_gp", "srcu_gp_expedited", "srcu_gp_readers", "srcu_gp_expedited_readers")
FIGURE = r"^bench=(\w+) median=(\d+) min=(\d+) max=(\d+) unit=ns samples=(\d+)$"


def _ktap(s, name, r):
    lines = r.lines
    s.check(lines and lines[0] == "KTAP version 1", "%s: no KTAP header" % name, r.text())
    results = [l for l in lines if l.startswith("ok ") or l.startswith("not ok ")]
    s.eq(len(results), 1, "%s: KTAP result lines" % name)
    s.check(results[0].startswith("ok "), "%s failed" % name, r.text())
    for l in lines:
        if l.lstrip().startswith("#"):
            s.note("%s %s" % (name, l.strip()))


@scenario(targets=[QEMU_4, BOCHS_VMX4], timeout=1800)
def srcu_selftests_and_benches(s):
    r = s.ok("cpus")
    s.eq(r.where("possible")[0].get("online"), "4", "online CPUs")
    for name in SELFTESTS:
        _ktap(s, name, s.ok("selftest %s" % name, timeout=s.scaled(600)))
    r = s.ok("lockdep")
    s.eq(r.records[0].get("violations"), "0", "lockdep violations after the SRCU selftests")
    for name in BENCHES:
        r = s.ok("bench %s" % name, timeout=s.scaled(600))
        s.eq(len(r.lines), 1, "data lines of 'bench %s'" % name)
        m = s.match(FIGURE, r.lines[0], "bench %s" % name)
        s.eq(m.group(1), name, "bench name")
        median, low, high, samples = (int(m.group(i)) for i in range(2, 6))
        s.check(low <= median <= high, "%s: not min <= median <= max" % name, r.lines[0])
        s.check(samples > 0, "%s: no samples" % name, r.lines[0])
        s.note(r.lines[0])
    # Every CPU back online, nothing left inconsistent.
    r = s.ok("cpus")
    s.eq(r.where("possible")[0].get("online"), "4", "online CPUs after the selftests")
    s.ok("check")

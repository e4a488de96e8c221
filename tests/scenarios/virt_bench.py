"""Benchmarks of the virtualization usage core (core/virt/virt_bench.c):
one CPU's enable and disable, its compatibility check alone, and the 0 -> 1 / 1 -> 0 fan-out over every
online CPU.  Checks the output format, that the benches leave every CPU as
they found it, and that they refuse while virtualization is in use or an
enable fault is armed -- never the figures themselves (emulated time is
noisy); those go to the report as notes."""

from harness.scenario import scenario
from _targets import BOCHS_2, QEMU_SVM4, QEMU_SVM8

GROUPS = ("virt", "bench")

BENCHES = ("virt_enable", "virt_disable", "virt_fanout", "virt_fanout_put")   # refuse while in use
FIGURE = r"^bench=(\w+) median=(\d+) min=(\d+) max=(\d+) unit=ns samples=(\d+)$"


def _figure(s, name):
    r = s.ok("bench %s" % name, timeout=s.scaled(600))
    s.eq(len(r.lines), 1, "data lines of 'bench %s'" % name)
    m = s.match(FIGURE, r.lines[0], "bench %s" % name)
    s.eq(m.group(1), name, "bench name")
    median, low, high, samples = (int(m.group(i)) for i in range(2, 6))
    s.check(low <= median <= high, "%s: not min <= median <= max" % name, r.lines[0])
    s.check(samples > 0, "%s: no samples" % name, r.lines[0])
    s.note(r.lines[0])


def _skipped(s, name, why):
    r = s.ok("bench %s" % name)
    s.eq(r.lines, ["bench=%s skipped=1" % name], "'bench %s' refused" % name)
    s.log_has(r"bench: %s: refused: %s" % (name, why), "refusal of %s" % name)


def _untouched(s, what):
    v = s.ok("virt").records[0]
    s.eq((v.get("usage"), v.get("enabled")), ("0", "none"), "usage and enabled CPUs %s" % what)
    s.ok("check")


@scenario(targets=[QEMU_SVM4, QEMU_SVM8, BOCHS_2],
          timeout=900, real=True)
def virt_bench(s):
    for name in BENCHES + ("virt_compat",):
        _figure(s, name)
    _untouched(s, "after the benches")

    # In use: disabling CPUs under a VM would break it.
    vm = s.ok("vm create").records[0]["vm"]
    for name in BENCHES:
        _skipped(s, name, r"virtualization is in use")
    _figure(s, "virt_compat")   # changes nothing: runs in use too
    v = s.ok("virt").records[0]
    s.eq(v.get("usage"), "1", "usage kept by the VM")
    s.ok("check")
    s.ok("vm destroy %s" % vm)

    # An armed enable fault is left for its real target.
    s.ok("inject virt_enable_fail cpu=0")
    _skipped(s, "virt_enable", r"an enable fault is armed")
    _skipped(s, "virt_fanout", r"an enable fault is armed")
    point = s.ok("inject list").find(point="virt_enable_fail")
    s.eq([(p.get("armed"), p.get("hits")) for p in point], [("1", "0")], "virt_enable_fail still armed")
    s.ok("inject clear")
    _untouched(s, "at the end")

"""SVM's live-vCPU operations (arch/x86/svm/svm_vcpu.c) on QEMU TCG: the
`svm_vcpu` self-test (2 vCPUs of the pattern guest entered in turn through
the ops, progress and no guest memory error, vCPU 0 migrated to another CPU
and back, the emergency disable between two entries), then the exit
round-trip benches: bare VMRUN (`svm_exit_raw`), the core loop's work per
entry through the ops (`svm_exit_live`), and their ratio measured pair by
pair in the same boot (`svm_exit_ratio`, percent).  The figures go to the
report as notes; they are never asserted (emulated time is noisy).
svm_live_panic: a panic with live vCPUs running on every CPU leaves SVM on
every CPU."""


from harness.scenario import scenario
from _live import panic_with_pinned_vcpus
from _targets import BOCHS_SVM, QEMU_SVM4, QEMU_SVM_LIVE

GROUPS = ("virt", "bench")
FIGURE = r"^bench=%s median=(\d+) min=(\d+) max=(\d+) unit=%s samples=(\d+)$"


def _figure(s, name, unit):
    r = s.ok("bench %s" % name, timeout=s.scaled(600))
    s.eq(len(r.lines), 1, "data lines of 'bench %s'" % name)
    m = s.match(FIGURE % (name, unit), r.lines[0], "bench %s" % name)
    median, low, high, samples = (int(m.group(i)) for i in range(1, 5))
    s.check(low <= median <= high, "%s: not min <= median <= max" % name, r.lines[0])
    s.check(samples == 16, "%s: %d samples, expected 16" % (name, samples), r.lines[0])
    s.note(r.lines[0])
    return median


@scenario(targets=QEMU_SVM_LIVE + BOCHS_SVM[:1], timeout=900)
def svm_live(s):
    r = s.ok("selftest svm_vcpu", timeout=s.scaled(600))
    s.check("ok 1 svm_vcpu" in r.lines, "selftest svm_vcpu did not pass", r.text())
    s.check(not any("nothing tested" in l or "not tested" in l for l in r.lines),
            "selftest svm_vcpu left something untested", r.text())
    for l in r.lines:
        if l.startswith("#"):
            s.note(l)
    s.check(not s.con.search(r"guest memory error"), "guest memory errors in the log")
    raw = _figure(s, "svm_exit_raw", "ns")
    live = _figure(s, "svm_exit_live", "ns")
    ratio = _figure(s, "svm_exit_ratio", "%")
    for l in s.con.search(r"bench: svm_exit_\w+: \d+ live round trips"):
        s.note(l.split("] ", 1)[-1])
    s.note("live/raw per exit round trip: %d/%d ns (%.2f), paired median %d%%" % (live, raw, live / raw, ratio))
    s.ok("check")
    v = s.ok("virt").records[0]
    s.eq((v.get("usage"), v.get("enabled")), ("0", "none"), "usage and enabled CPUs after the tests")


@scenario(targets=[QEMU_SVM4], timeout=600)
def svm_live_panic(s):
    """A panic while live vCPUs of the pattern guest run on every CPU (one
    pinned to each): the NMI shoot-down finds each CPU in or between two
    entries and every CPU leaves SVM.  Needs the core's live vCPUs (`vm
    start`, core/virt/vcpu.c); a kernel without them says so and tests
    nothing."""
    panic_with_pinned_vcpus(s)

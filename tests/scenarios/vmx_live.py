"""Live vCPUs on the VMX backend (arch/x86/vmx/vmx_vcpu.c), driven through the
live-vCPU operations by the `vmx_vcpu` self-test: two vCPUs of the pattern
guest entered a few hundred times, one moved to another CPU and back
(cross-CPU VMCLEAR, VMPTRLD, VMLAUNCH), VMX disabled under loaded vCPUs (the
per-CPU VMCS list emptied before VMXOFF), more vCPUs than a CPU's list holds
(eviction), the `check` invariants throughout.  Then the exit round-trip
benches, bare and through the live operations, whose figures and ratio go
to the report as notes (emulated time is noisy: never asserted).  Bochs
only: QEMU TCG has no VMX."""

import re

from harness.scenario import scenario
from _targets import BOCHS_VMX4, BOCHS_VMX_MODELS

GROUPS = ("virt",)

FIGURE = r"^bench=(\w+) median=(\d+) min=(\d+) max=(\d+) unit=ns samples=(\d+)$"


def _selftest(s):
    r = s.ok("selftest vmx_vcpu", timeout=s.scaled(1200))
    s.check("ok 1 vmx_vcpu" in r.lines, "selftest vmx_vcpu did not pass", r.text())
    s.check(not any("nothing tested" in l or "skipped" in l for l in r.lines),
            "selftest vmx_vcpu did nothing", r.text())
    for want in (r"moved CPU \d+ -> \d+ -> \d+: VMCLEAR by cross-CPU call",
                 r"disable on CPU \d+ VMCLEARed \d+ active VMCSs before VMXOFF",
                 r"list full at 16"):
        s.check(any(re.search(want, l) for l in r.lines), "selftest vmx_vcpu: no note '%s'" % want,
                r.text())
    for l in r.lines:
        if l.startswith("#"):
            s.note(l)


def _bench(s, name):
    r = s.ok("bench %s" % name, timeout=s.scaled(600))
    s.eq(len(r.lines), 1, "data lines of 'bench %s'" % name)
    m = s.match(FIGURE, r.lines[0], "bench %s" % name)
    s.eq(m.group(1), name, "bench name")
    s.check(int(m.group(5)) == 16, "%s: 16 samples" % name, r.lines[0])
    s.note(r.lines[0])


@scenario(targets=[BOCHS_VMX4, BOCHS_VMX_MODELS[1]], timeout=2400)
def vmx_live(s):
    _selftest(s)
    _bench(s, "vmx_exit_raw")
    _bench(s, "vmx_exit_live")
    line = s.log_has(r"bench: vmx_exit_live: (\d+) ns per round trip through the live ops, (\d+) ns bare "
                  r"\(vmx_exit_raw, same boot\), ratio (\d+\.\d+)", "the live/raw ratio line")
    s.note(line)
    s.ok("check")

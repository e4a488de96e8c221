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
import time

from harness.scenario import scenario
from _live import has_live_vms, panic_with_pinned_vcpus, pinned_vm_running
from _panic import all_off, panic_report
from _targets import BOCHS_VMX4, BOCHS_VMX_MODELS

GROUPS = ("virt",)

FIGURE = r"^bench=(\w+) median=(\d+) min=(\d+) max=(\d+) unit=(ns|%) samples=(\d+)$"


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
    s.check(int(m.group(6)) == 16, "%s: 16 samples" % name, r.lines[0])
    s.check(int(m.group(3)) <= int(m.group(2)) <= int(m.group(4)), "%s: not min <= median <= max" % name, r.lines[0])
    s.note(r.lines[0])


@scenario(targets=[BOCHS_VMX4, BOCHS_VMX_MODELS[1]], timeout=2400)
def vmx_live(s):
    _selftest(s)
    _bench(s, "vmx_exit_raw")
    _bench(s, "vmx_exit_live")
    _bench(s, "vmx_exit_ratio")
    line = s.log_has(r"bench: vmx_exit_live: (\d+) ns per round trip through the live ops, (\d+) ns bare "
                  r"\(vmx_exit_raw, same boot\), ratio (\d+\.\d+)", "the live/raw ratio line")
    s.note(line)
    s.ok("check")


@scenario(targets=[BOCHS_VMX4], timeout=1200)
def vmx_live_panic(s):
    """A panic with live vCPUs' VMCSs active on two CPUs (the injected panic
    in the vmx_vcpu self-test's emergency step): panic's NMI and emergency
    callbacks VMCLEAR them and leave VMX on every CPU."""
    s.ok("inject vmx_vcpu_panic")
    s.allow_panic(True)
    s.con.wait_prompt()
    s.send("selftest vmx_vcpu\r")
    info = s.expect_exit(clean=False)
    s.note("stopped: %s" % info.reason)
    s.check("Bochs panic" in info.reason, "Bochs did not stop through the BIOS panic port: %s" % info.reason)
    line = s.log_has(r"KERNEL PANIC: vmx_vcpu: panic with (\d+) VMCS\(s\) active on CPU (\d+) and (\d+) on CPU (\d+)",
                     "the injected panic")
    s.note(line)
    m = re.search(r"with (\d+) VMCS\(s\) active on CPU (\d+) and (\d+) on CPU (\d+)", line)
    s.check(int(m.group(1)) >= 1 and int(m.group(3)) >= 1, "VMCSs active on both CPUs at the panic", line)
    all_off(s, panic_report(s), int(m.group(2)))


@scenario(targets=[BOCHS_VMX4], timeout=1800)
def vmx_live_core(s):
    """The core's vCPU loop (core/virt/vcpu.c) on VMX: 4 vCPUs of the pattern
    guest, one per CPU, then moved around (each move: VMCLEAR on the old CPU
    by cross-CPU call, VMPTRLD and VMLAUNCH on the new one); progress goes on,
    no guest memory error, `check` (the VMCS-list invariant among them) holds
    with VMCSs active on every CPU.  Needs the core's live vCPUs."""
    if not has_live_vms(s):
        return
    vm = s.ok("vm create vcpus=%d" % s.smp).records[0]["vm"]
    s.ok("vm start %s" % vm)
    n = s.smp
    vcpus = pinned_vm_running(s, vm, list(range(n)))
    s.eq([(v["cpu"], v["errors"], v["state"]) for v in vcpus],
         [(str(i), "0", "running") for i in range(n)], "vCPUs running on their CPUs")
    s.ok("check")
    # Rotate: vCPU i to CPU i+1, twice.
    for shift in (1, 2):
        before = {v["vcpu"]: int(v["progress"]) for v in vcpus}
        vcpus = pinned_vm_running(s, vm, [(i + shift) % n for i in range(n)])
        s.eq([(v["cpu"], v["errors"], v["state"]) for v in vcpus],
             [(str((i + shift) % n), "0", "running") for i in range(n)], "vCPUs after moving by %d" % shift)
        s.check(all(int(v["progress"]) > before[v["vcpu"]] for v in vcpus), "progress after moving by %d" % shift,
                str(vcpus))
        s.ok("check")
    s.note("vm stat: " + "; ".join(" ".join("%s=%s" % kv for kv in sorted(v.items())) for v in vcpus))
    # The last CPU goes offline under unpinned vCPUs: its hotplug teardown
    # VMCLEARs what is active there before VMXOFF (the invariant: nothing
    # active on an offline CPU), and they go on elsewhere.
    last = n - 1
    for i in range(n):
        s.ok("vcpu pin %s.%d cpu=any" % (vm, i))
    s.ok("cpu offline %d" % last)
    s.ok("check")
    before = {v["vcpu"]: int(v["progress"]) for v in s.ok("vm stat %s" % vm).where("vcpu")}
    deadline = time.monotonic() + s.scaled(120)
    while True:
        vcpus = s.ok("vm stat %s" % vm).where("vcpu")
        if all(int(v["progress"]) > before[v["vcpu"]] for v in vcpus) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    s.eq([(v["errors"], v["state"]) for v in vcpus], [("0", "running")] * n, "vCPUs with CPU %d offline" % last)
    s.check(all(v["cpu"] != str(last) for v in vcpus), "a vCPU on the offline CPU", str(vcpus))
    s.check(all(int(v["progress"]) > before[v["vcpu"]] for v in vcpus), "progress with CPU %d offline" % last,
            str(vcpus))
    s.ok("cpu online %d" % last)
    s.ok("check")
    # A simulated suspend under running vCPUs: the freezer parks them, the
    # other CPUs go offline and the boot CPU's syscore suspend disables VMX
    # (VMCLEAR of what is active there first); after resume each vCPU finds
    # its VMCS gone from its CPU's list and loads it again (VMLAUNCH).
    before = {v["vcpu"]: int(v["progress"]) for v in s.ok("vm stat %s" % vm).where("vcpu")}
    s.ok("suspend sim", timeout=s.scaled(300))
    deadline = time.monotonic() + s.scaled(120)
    while True:
        vcpus = s.ok("vm stat %s" % vm).where("vcpu")
        if all(int(v["progress"]) > before[v["vcpu"]] for v in vcpus) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    s.eq([(v["errors"], v["state"]) for v in vcpus], [("0", "running")] * n, "vCPUs after a suspend")
    s.check(all(int(v["progress"]) > before[v["vcpu"]] for v in vcpus), "progress after a suspend", str(vcpus))
    s.ok("check")
    s.ok("vm stop %s" % vm)
    s.ok("check")
    s.ok("vm destroy %s" % vm)
    s.ok("check")
    s.check(not s.con.search(r"guest memory error"), "guest memory errors in the log")


@scenario(targets=[BOCHS_VMX4], timeout=1200)
def vmx_live_core_panic(s):
    """A panic while the core's live vCPUs run on every CPU (one pinned to
    each): the NMI shoot-down VMCLEARs each CPU's VMCSs and leaves VMX
    everywhere.  Needs the core's live vCPUs."""
    panic_with_pinned_vcpus(s)

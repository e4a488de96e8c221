"""Live VMs (docs/design.md "Live VMs"): vCPU tasks of the pattern guest
keep running, and keep making progress with no guest memory error, while
CPUs go offline and come back, across a simulated suspend, a pause and a
pin; `check` after every step (its vcpu_live invariant: every vCPU in guest
mode on an online CPU with virtualization on, every running VM made
progress since the previous check, no failed vCPU, no guest error).  Then
reboot and panic with vCPUs in their guests on every CPU.

SVM under QEMU TCG (-cpu max and EPYC), VMX under Bochs (corei7_skylake_x)."""

import time

from harness.scenario import scenario
from _live import vm_stat, wait_progress
from _targets import BOCHS_2, BOCHS_VMX4, QEMU_SVM4, QEMU_SVM_LIVE

GROUPS = ("virt",)


def _wait_progress(s, vm, what):
    """Every vCPU of vm makes progress (bounded wait, then a failure)."""
    _, now = wait_progress(s, vm, what)
    for v in now:
        s.eq((v["state"], v["errors"]), ("running", "0"), "vCPU %s %s" % (v["vcpu"], what))
    return now


def _check(s, what):
    r = s.cmd("check", timeout=s.scaled(60))
    s.check(r.status == "ok", "check %s: %s" % (what, r.error), r.text())


def _start(s, n):
    vm = s.ok("vm create vcpus=%d" % n).records[0]["vm"]
    s.ok("vm start %s" % vm)
    _wait_progress(s, vm, "after start")
    _check(s, "after start")
    return vm


@scenario(targets=QEMU_SVM_LIVE + [QEMU_SVM4, BOCHS_2], timeout=1500)
def vm_live_hotplug_suspend(s):
    vm = _start(s, s.smp)
    _check(s, "baseline")
    # Every non-boot CPU goes offline under the running vCPUs and comes back.
    for cpu in range(1, s.smp):
        s.ok("vcpu pin %s.0 cpu=%d" % (vm, cpu))
        _wait_progress(s, vm, "pinned to cpu %d" % cpu)
        s.ok("cpu offline %d" % cpu)
        _, vcpus = vm_stat(s, vm)
        s.eq(vcpus[0]["pin"], "-1", "vCPU 0's pin after its CPU went offline")
        s.log_has(r"vcpu%s\.0: cpu %d is going offline: its pin to it is dropped" % (vm, cpu), "pin dropped")
        now = _wait_progress(s, vm, "with cpu %d offline" % cpu)
        s.check(all(v["cpu"] != str(cpu) for v in now), "a vCPU entered on offline cpu %d" % cpu, repr(now))
        _check(s, "with cpu %d offline" % cpu)
        s.ok("cpu online %d" % cpu)
        _wait_progress(s, vm, "with cpu %d back" % cpu)
        _check(s, "with cpu %d back" % cpu)
    s.check(not s.con.search(r"did not leave cpu"), "vCPUs did not leave a CPU going offline")
    # A simulated suspend: the vCPUs are frozen outside their guests, then go on.
    for i in range(2):
        s.ok("suspend", timeout=s.scaled(120))
        _wait_progress(s, vm, "after suspend %d" % (i + 1))
        _check(s, "after suspend %d" % (i + 1))
    # Pause: no progress while paused; resume: progress again.
    s.ok("vm pause %s" % vm)
    _, a = vm_stat(s, vm)
    time.sleep(1)
    _, b = vm_stat(s, vm)
    s.eq([v["progress"] for v in b], [v["progress"] for v in a], "progress while paused")
    s.eq({v["state"] for v in b}, {"paused"}, "vCPU states while paused")
    _check(s, "while paused")
    s.ok("vm resume %s" % vm)
    _wait_progress(s, vm, "after resume")
    # Misuse: clear errors, nothing changes.
    s.error("vm start %s" % vm, r"already running")
    s.error("vm resume %s" % vm, r"not paused")
    s.error("vm start 99", r"no VM with id 99")
    s.error("vcpu pin %s.%d cpu=0" % (vm, s.smp), r"has no vCPU %d" % s.smp)
    s.error("vcpu pin %s.0 cpu=%d" % (vm, s.smp + 7), r"bad value")
    s.error("vm create vcpus=0", r"vcpus=")
    s.error("vm create vcpus=%d" % (s.smp + 1), r"vcpus=")
    s.error("vm create vcpus=1 mem=64M", r"mem=65536 KiB is more than")
    s.error("vm create mem=12x", r"bad value '12x' for mem=")
    s.error("vcpu pin 1x cpu=0", r"bad value '1x' for <vm>.<i>")
    s.error("vcpu pin %s.0" % vm, r"missing cpu=")
    second = s.ok("vm create vcpus=1").records[0]["vm"]
    s.error("vm pause %s" % second, r"stopped: nothing to pause")
    s.error("vm stop %s" % second, r"not running")
    s.ok("vm destroy %s" % second)
    s.eq(s.ok("vm list").where("vm")[0]["state"], "running", "vm list state")
    _check(s, "after the misuse")
    # Destroying a running VM stops it first.
    s.ok("vm destroy %s" % vm)
    _check(s, "after destroy")
    v = s.ok("virt").records[0]
    s.eq(v.get("usage"), "0", "usage count after the VMs are gone")
    s.check(not s.con.search(r"guest memory error"), "guest memory errors in the log")


@scenario(targets=[QEMU_SVM4, BOCHS_2], timeout=900)
def vm_live_reboot(s):
    """Reboot with a vCPU in its guest on every CPU: every vCPU is kicked out
    and kept out before virtualization goes off everywhere."""
    vm = _start(s, s.smp)
    for i in range(s.smp):
        s.ok("vcpu pin %s.%d cpu=%d" % (vm, i, i))
    _wait_progress(s, vm, "pinned one per CPU")
    s.con.wait_prompt()
    s.send("reboot\r")
    s.expect(r"reboot: virtualization disabled on %d CPUs?" % s.smp, timeout=s.scaled(60))
    s.check(not s.con.search(r"still in guest mode"), "a vCPU stayed in its guest")
    s.check(not s.con.search(r"still has virtualization on"), "a CPU kept virtualization on")
    s.expect_exit(clean=None, timeout=s.scaled(120))


def _live_stress(s, ops, seed, timeout):
    r = s.cmd("stress ops=%d seed=%d" % (ops, seed), timeout=timeout)
    found = [l for l in r.text().splitlines()
             if "violation:" in l or "violation op=" in l or "WARNING:" in l or "BUG:" in l]
    s.check(r.status == "ok", "stress failed: %s; %s" % (r.error, " | ".join(found[:5]) or "no violation line"),
            r.text())
    s.eq(r.records[-1] if r.records else {}, {"ops": str(ops), "seed": str(seed), "violations": "0"},
         "final stress line")
    summary = next(iter(r.where("lockdep_violations")), {})
    for kind in ("hotplug", "suspend", "live"):
        s.check(int(summary.get(kind, "0")) > 0, "no %s operation in the stress" % kind, r.text())
    s.check(not s.con.search(r"guest memory error|did not leave cpu|stopped: guest"),
            "guest errors or vCPUs stuck on a CPU going offline", r.text())
    s.note("stress ops=%d seed=%d on %d CPUs: live=%s live_expected=%s hotplug=%s suspend=%s ms=%s" % (
        ops, seed, s.smp, summary.get("live"), summary.get("live_expected"), summary.get("hotplug"),
        summary.get("suspend"), summary.get("ms")))
    s.eq(s.ok("vm list").records, [], "VMs left")


@scenario(targets=[QEMU_SVM4], timeout=900)
def vm_live_stress(s):
    """stress with live VMs running throughout (live=1): check after every
    step, 0 violations, 0 guest memory errors.  The large runs (5000 ops on
    8 CPUs under QEMU, 1000 on 4 under Bochs VMX) are in docs/harness.md."""
    _live_stress(s, 300, 7, s.scaled(800))


@scenario(targets=[BOCHS_VMX4], timeout=1500)
def vm_live_stress_vmx(s):
    _live_stress(s, 100, 7, s.scaled(1400))


_FIGURE = r"^bench=%s median=(\d+) min=(\d+) max=(\d+) unit=%s samples=(\d+)$"


@scenario(targets=[QEMU_SVM4, BOCHS_VMX4], timeout=1200, groups=("bench",))
def vm_live_bench(s):
    """Kick latency, migration, CPU offline/online and a simulated suspend
    with live vCPUs: figures for the report, never asserted."""
    for name, unit in (("vcpu_kick_latency", "ns"), ("vcpu_migration", "us"), ("vcpu_cpu_offline", "us"),
                       ("vcpu_cpu_online", "us"), ("vcpu_suspend", "us")):
        r = s.ok("bench %s" % name, timeout=s.scaled(300))
        s.eq(len(r.lines), 1, "data lines of 'bench %s'" % name)
        m = s.match(_FIGURE % (name, unit), r.lines[0], "bench %s" % name)
        s.check(int(m.group(2)) <= int(m.group(1)) <= int(m.group(3)), "%s: not min <= median <= max" % name)
        s.check(int(m.group(4)) > 0, "%s: no sample" % name)
        s.note(r.lines[0])
    _check(s, "after the benches")
    s.eq(s.ok("vm list").records, [], "VMs left by the benches")


@scenario(targets=[QEMU_SVM4, BOCHS_VMX4], timeout=900)
def vm_live_panic(s):
    """A panic while a live vCPU pinned to every CPU runs its guest: the NMI
    shoot-down makes every CPU leave virtualization, so INIT and reset work."""
    vm = _start(s, s.smp)
    for i in range(s.smp):
        s.ok("vcpu pin %s.%d cpu=%d" % (vm, i, i))
    deadline = time.monotonic() + s.scaled(60)
    while True:
        _, vcpus = vm_stat(s, vm)
        if all(v["cpu"] == v["vcpu"] for v in vcpus) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    s.eq([(v["cpu"], v["errors"], v["state"]) for v in vcpus],
         [(str(i), "0", "running") for i in range(s.smp)], "vCPUs on their CPUs before the panic")
    _wait_progress(s, vm, "pinned one per CPU")
    s.allow_panic(True)
    s.con.wait_prompt()
    s.send("crash panic cpu=%d\r" % (s.smp - 1))
    info = s.expect_exit(clean=False)
    s.note("stopped: %s" % info.reason)
    lines = s.con.search(r"panic: cpu \d+ ")
    s.eq(len(lines), s.smp, "per-CPU panic lines")
    for l in lines:
        s.check(l.rstrip().endswith("virtualization off"), "a CPU kept virtualization on: %s" % l.strip())


@scenario(targets=[QEMU_SVM4], timeout=900)
def vm_live_s3(s):
    """ACPI S3 with live vCPUs: frozen outside their guests before the CPUs go
    down, thawed after the firmware's resume; the guests go on with their
    memory intact (their own pattern check reports no error) and `check`
    holds after each cycle."""
    vm = _start(s, s.smp)
    for i in range(2):
        s.ok("suspend s3", timeout=s.scaled(120))
        _wait_progress(s, vm, "after S3 cycle %d" % (i + 1))
        _check(s, "after S3 cycle %d" % (i + 1))
    s.check(not s.con.search(r"guest memory error"), "guest memory errors after S3")
    s.ok("vm destroy %s" % vm)

"""CPU hotplug with the virtualization state always right (docs/design.md
sections 3-4).

Every non-boot CPU goes offline and back with 0, 1 and several VMs, and after
each step `cpus`, `virt` and `check` must agree that virtualization is on
exactly on the online CPUs while the usage count is up.  The boot CPU is
refused.  An incompatible CPU (an injected compatibility mismatch) is vetoed
on online while VMs exist and accepted while none do, after which the next
`vm create` fails cleanly naming it.  Enable and ONLINE-step failures injected
into an online veto it and leave the CPU offline.  `stress` races hotplug
against a thread creating, running and destroying VMs, and must end with no
violation and no lockdep report.

SVM under QEMU TCG (-cpu max, 4 CPUs), VMX under Bochs (corei7_skylake_x,
4 CPUs, text mode)."""

import re
import time

from harness.scenario import scenario
from _targets import BOCHS_VMX4, QEMU_SVM4, QEMU_SVM4_128M

GROUPS = ("virt", "cpu")


def _cpu_list(cpus):
    """[0, 1, 3] -> '0-1,3' (the kernel's format), 'none' when empty."""
    cpus = sorted(cpus)
    if not cpus:
        return "none"
    out, start = [], cpus[0]
    for prev, cur in zip(cpus, cpus[1:] + [None]):
        if cur != prev + 1:
            out.append(str(start) if start == prev else "%d-%d" % (start, prev))
            start = cur
    return ",".join(out)


def _state(s, online, usage, what):
    """`cpus`, `virt` and `check` agree with the expected online set and
    usage count: virt on exactly on the online CPUs while usage > 0."""
    r = s.ok("cpus")
    recs = {int(c["cpu"]): c for c in r.where("cpu")}
    for c in range(s.smp):
        want_state = "online" if c in online else "offline"
        want_virt = "on" if (c in online and usage > 0) else "off"
        s.eq((recs[c].get("state"), recs[c].get("virt")), (want_state, want_virt),
             "%s: cpu %d state/virt" % (what, c))
    s.eq(r.where("possible")[0].get("online"), str(len(online)), "%s: online count" % what)
    v = s.ok("virt").records[0]
    s.eq(v.get("usage"), str(usage), "%s: usage" % what)
    s.eq(v.get("enabled"), _cpu_list(online) if usage else "none", "%s: enabled CPUs" % what)
    s.ok("check")


def _create(s):
    return s.ok("vm create").records[0]["vm"]


def _run(s, vm, cpu):
    rec = s.ok("vm run %s cpu=%d exits=20" % (vm, cpu), timeout=s.scaled(120)).records[0]
    s.eq((rec.get("cpu"), rec.get("exits")), (str(cpu), "20"), "vm run on cpu %d" % cpu)


def _cycle_all(s, vms):
    """Offline then online every non-boot CPU, one at a time, with len(vms)
    VMs present; the guest must run on the CPU once it is back."""
    n, usage = s.smp, len(vms)
    everyone = set(range(n))
    for c in range(1, n):
        s.ok("cpu offline %d" % c)
        _state(s, everyone - {c}, usage, "%d VMs, cpu %d offline" % (usage, c))
        if vms:
            s.error("vm run %s cpu=%d exits=5" % (vms[0], c), match=r"^cpu %d is offline$" % c)
        s.ok("cpu online %d" % c)
        _state(s, everyone, usage, "%d VMs, cpu %d back online" % (usage, c))
        for vm in vms:
            _run(s, vm, c)
    # All of them down at once, then up in reverse order.
    for c in range(1, n):
        s.ok("cpu offline %d" % c)
    _state(s, {0}, usage, "%d VMs, only the boot CPU" % usage)
    for c in reversed(range(1, n)):
        s.ok("cpu online %d" % c)
    _state(s, everyone, usage, "%d VMs, all back" % usage)


def _lifecycle(s):
    _state(s, set(range(s.smp)), 0, "boot")
    _cycle_all(s, [])
    vms = [_create(s)]
    _cycle_all(s, vms)
    vms += [_create(s), _create(s)]
    _cycle_all(s, vms)
    # The usage count moving while a CPU is offline: that CPU must follow
    # it when it comes back (enabled if VMs appeared, off if they all went).
    last = s.smp - 1
    s.ok("cpu offline %d" % last)
    for vm in vms:
        s.ok("vm destroy %s" % vm)
    _state(s, set(range(last)), 0, "VMs destroyed while cpu %d was offline" % last)
    s.ok("cpu online %d" % last)
    _state(s, set(range(s.smp)), 0, "cpu %d back with no VM" % last)
    s.ok("cpu offline %d" % last)
    vm = _create(s)
    _state(s, set(range(last)), 1, "first VM created while cpu %d was offline" % last)
    s.ok("cpu online %d" % last)
    _state(s, set(range(s.smp)), 1, "cpu %d back with a VM created meanwhile" % last)
    _run(s, vm, last)
    s.ok("vm destroy %s" % vm)
    _state(s, set(range(s.smp)), 0, "end")


@scenario(targets=[QEMU_SVM4, BOCHS_VMX4], timeout=900, real=True)
def hotplug_cycle(s):
    _lifecycle(s)


@scenario(targets=[QEMU_SVM4], real=True)
def hotplug_refused(s):
    """The boot CPU and nonsense are refused, and nothing changes."""
    s.error("cpu offline 0", match=r"CPU 0 is the boot CPU and cannot go offline")
    s.error("cpu online 0", match=r"CPU 0 is the boot CPU")
    s.error("cpu offline %d" % s.smp, match=r"bad value '%d' for <n> \(expected 0\.\.%d\)" % (s.smp, s.smp - 1))
    s.error("cpu online 1", match=r"CPU 1 is already online")
    s.error("cpu reboot 1", match=r"expected online or offline")
    s.ok("cpu offline 1")
    s.error("cpu offline 1", match=r"CPU 1 is already offline")
    s.ok("cpu online 1")
    _state(s, set(range(s.smp)), 0, "after the refusals")


def _mismatch_values(text):
    m = re.search(r"cr4_reserved_mask=(0x[0-9a-f]+) differs from the boot CPU's (0x[0-9a-f]+)", text)
    return m.groups() if m else None


def _incompatible(s):
    last = s.smp - 1
    everyone = set(range(s.smp))
    # VMs exist: the online is vetoed, naming the field and both values.
    vm = _create(s)
    s.ok("cpu offline %d" % last)
    s.ok("inject cr4_mask cpu=%d count=0" % last)
    r = s.error("cpu online %d" % last, match=r"cr4_reserved_mask=0x[0-9a-f]+ differs from the boot CPU's")
    vetoed = r.error
    s.log_has(r"cpuhp: CPU %d stays offline: .*cr4_reserved_mask" % last, "veto log line")
    _state(s, everyone - {last}, 1, "incompatible cpu %d vetoed" % last)
    s.error("vm run %s cpu=%d exits=5" % (vm, last), match=r"^cpu %d is offline$" % last)
    s.ok("vm destroy %s" % vm)
    # No VM: the same CPU is accepted (nothing to enable on it) ...
    s.ok("cpu online %d" % last)
    _state(s, everyone, 0, "incompatible cpu %d accepted without VMs" % last)
    # ... and the next first VM is refused naming it, every CPU rolled back.
    r = s.error("vm create", match=r"^cpu %d: cr4_reserved_mask=0x[0-9a-f]+ differs from the boot CPU's 0x[0-9a-f]+"
                % last)
    _state(s, everyone, 0, "vm create refused by incompatible cpu %d" % last)
    # The veto on online must have named both values, the same ones.
    s.eq(_mismatch_values(vetoed), _mismatch_values(r.error),
         "values named by the online veto (%r) and by vm create (%r)" % (vetoed, r.error))
    s.ok("inject clear")
    vm = _create(s)
    _state(s, everyone, 1, "compatible again")
    _run(s, vm, last)
    s.ok("vm destroy %s" % vm)
    _state(s, everyone, 0, "end")


@scenario(targets=[QEMU_SVM4, BOCHS_VMX4], timeout=600, real=True)
def hotplug_incompatible(s):
    # The technology's own fields, vetoed while a VM exists.
    vendor = s.ok("virt").records[0].get("vendor")
    point, field = {"svm": ("svm_disabled", r"SVM disabled by firmware \(VM_CR\.SVMDIS=1\)"),
                    "vmx": ("vmx_cap", r"VMX_PROCBASED_CTLS2=0x[0-9a-f]+ differs")}[vendor]
    last = s.smp - 1
    vm = _create(s)
    s.ok("cpu offline %d" % last)
    s.ok("inject %s cpu=%d count=0" % (point, last))
    s.error("cpu online %d" % last, match=field)
    _state(s, set(range(last)), 1, "%s vetoed cpu %d" % (point, last))
    s.ok("inject clear")
    s.ok("cpu online %d" % last)
    _state(s, set(range(s.smp)), 1, "cpu %d compatible again" % last)
    s.ok("vm destroy %s" % vm)
    _state(s, set(range(s.smp)), 0, "after %s" % point)
    # The CR4 reserved-bit mask (common to both): vetoed with VMs, accepted
    # without, then the first VM refused.
    _incompatible(s)


def _injected_point(s, name):
    rec = [p for p in s.ok("inject list").where("point") if p["point"] == name]
    s.check(rec, "no injection point %s" % name)
    return rec[0]


@scenario(targets=[QEMU_SVM4, BOCHS_VMX4], timeout=600, real=True)
def hotplug_online_failures(s):
    """Failures injected into an online veto it: the CPU stays offline, the
    steps done are rolled back, and the next online works."""
    c = 2 % s.smp
    everyone = set(range(s.smp))
    vm = _create(s)
    # The virtualization enable fails on the CPU coming online.
    s.ok("cpu offline %d" % c)
    s.ok("inject virt_enable_fail cpu=%d" % c)
    s.error("cpu online %d" % c, match=r"enable failed \(injected\)")
    s.eq(_injected_point(s, "virt_enable_fail").get("armed"), "0", "virt_enable_fail consumed")
    _state(s, everyone - {c}, 1, "enable failure vetoed cpu %d" % c)
    s.ok("cpu online %d" % c)
    _state(s, everyone, 1, "cpu %d online after the failure" % c)
    _run(s, vm, c)
    # The last ONLINE step fails after virtualization was enabled there:
    # the rollback must disable it again (check would catch it left on).
    for usage in (1, 0):
        s.ok("cpu offline %d" % c)
        s.ok("inject cpuhp_online_fail cpu=%d" % c)
        s.error("cpu online %d" % c, match=r"failed \(injected\)")
        _state(s, everyone - {c}, usage, "ONLINE step failure, %d VMs" % usage)
        s.ok("cpu online %d" % c)
        _state(s, everyone, usage, "cpu %d online after the ONLINE failure" % c)
        if usage:
            s.ok("vm destroy %s" % vm)
    # Without VMs an enable failure cannot hit an online (nothing enables).
    s.ok("cpu offline %d" % c)
    s.ok("inject virt_enable_fail cpu=%d" % c)
    s.ok("cpu online %d" % c)
    s.error("vm create", match=r"^cpu %d: enable failed \(injected\)$" % c)
    _state(s, everyone, 0, "first VM refused by cpu %d's enable failure" % c)
    s.ok("inject clear")


@scenario(targets=[QEMU_SVM4], timeout=600)
def hotplug_ap_never_checks_in(s):
    """A CPU that does not check in after INIT-SIPI-SIPI (injected: it halts
    before its first step) is given up on after the check-in timeout, put
    back into wait-for-SIPI with INIT and marked failed; nothing else changes,
    virtualization stays right on the others, and a later online starts it."""
    c = 2
    everyone = set(range(s.smp))
    vm = _create(s)
    s.ok("cpu offline %d" % c)
    s.ok("inject ap_silent cpu=%d" % c)
    s.error("cpu online %d" % c, match=r"^CPU %d \(APIC ID \d+\) did not check in within \d+ ms; marked failed$" % c,
            timeout=s.scaled(60))
    recs = {int(r["cpu"]): r for r in s.ok("cpus").where("cpu")}
    s.eq((recs[c].get("state"), recs[c].get("virt")), ("failed", "off"), "cpu %d after the silent start" % c)
    s.eq(s.ok("virt").records[0].get("enabled"), _cpu_list(everyone - {c}), "enabled CPUs")
    s.ok("check")
    s.error("cpu offline %d" % c, match=r"CPU %d is already failed" % c)
    s.ok("cpu online %d" % c, timeout=s.scaled(60))
    _state(s, everyone, 1, "cpu %d online after the failed start" % c)
    _run(s, vm, c)
    s.ok("vm destroy %s" % vm)
    _state(s, everyone, 0, "after the VM")


@scenario(targets=[QEMU_SVM4], timeout=600)
def hotplug_cpu_that_will_not_stop(s):
    """A CPU that keeps running after it was taken offline (injected: its
    idle task will not stop) is given up on after the 10 s timeout and marked
    failed; an online is refused while it still runs; once it has stopped
    the online finishes the teardown, starts it, and virtualization and the
    guest work there again."""
    c = 2
    everyone = set(range(s.smp))
    vm = _create(s)
    s.ok("inject cpu_wont_die cpu=%d count=0" % c)
    s.error("cpu offline %d" % c, match=r"^CPU %d did not stop within 10 s; marked failed$" % c, timeout=s.scaled(60))
    recs = {int(r["cpu"]): r for r in s.ok("cpus").where("cpu")}
    s.eq((recs[c].get("state"), recs[c].get("virt")), ("failed", "off"), "cpu %d after the stuck offline" % c)
    s.eq(s.ok("virt").records[0].get("enabled"), _cpu_list(everyone - {c}), "enabled CPUs")
    s.ok("check")
    s.error("cpu online %d" % c, match=r"^CPU %d has not stopped since it was taken offline" % c)
    s.ok("inject clear")
    s.ok("cpu online %d" % c, timeout=s.scaled(60))
    _state(s, everyone, 1, "cpu %d online after it stopped late" % c)
    _run(s, vm, c)
    s.ok("cpu offline %d" % c)
    s.ok("cpu online %d" % c)
    s.ok("vm destroy %s" % vm)
    _state(s, everyone, 0, "after the VM")


def _stress(s, ops, seed, timeout):
    t0 = time.monotonic()
    r = s.cmd("stress ops=%d seed=%d" % (ops, seed), timeout=timeout)
    wall = time.monotonic() - t0
    progress = [l for l in r.lines if l.startswith("stress: ")]
    final = r.records[-1] if r.records else {}
    # The reply's tail is mostly hotplug chatter: name the violations in the
    # message itself, or a CI excerpt shows everything but the cause.
    found = [l for l in r.text().splitlines()
             if "violation:" in l or "violation op=" in l or "WARNING:" in l or "BUG:" in l]
    s.check(r.status == "ok", "stress failed: %s; %s" % (r.error, " | ".join(found[:5]) or "no violation line"),
            r.text())
    s.eq(final, {"ops": str(ops), "seed": str(seed), "violations": "0"}, "final stress line")
    pct = [l.split()[1] for l in progress if re.match(r"stress: \d+% ", l)]
    s.eq(pct, ["%d%%" % p for p in range(10, 101, 10)], "progress lines")
    summary = next(iter(r.where("lockdep_violations")), {})
    s.eq(summary.get("lockdep_violations"), "0", "lockdep violations during the stress")
    s.eq(summary.get("lockdep"), "on", "lockdep still on after the stress")
    # Every kind of operation happened, and the helper really raced.
    for kind in ("hotplug", "create", "destroy", "run", "suspend", "inject"):
        s.check(int(summary.get(kind, "0")) > 0, "no %s operation in the stress" % kind, r.text())
    s.check(int(summary.get("helper_ops", "0")) > ops, "the helper thread hardly ran", r.text())
    s.eq(summary.get("expected_errors"), summary.get("inject"), "planted failures seen as planned")
    s.note("stress ops=%d seed=%d: %.1f s wall, %s ms emulated (%s ops/s), helper_ops=%s, "
           "helper runs on an offlined CPU=%s" % (ops, seed, wall, summary.get("ms"), summary.get("ops_per_s"),
                                                 summary.get("helper_ops"), summary.get("helper_expected")))
    # Left clean: all CPUs online, no VM, no injection armed, lockdep silent.
    _state(s, set(range(s.smp)), 0, "after stress")
    armed = [p["point"] for p in s.ok("inject list").where("point") if p.get("armed") != "0"]
    s.eq(armed, [], "injection points still armed")
    s.eq(s.ok("lockdep").records[0].get("violations"), "0", "lockdep violations")
    s.eq(s.ok("vm list").records, [], "VMs left")


@scenario(targets=[QEMU_SVM4], timeout=600, real=True)
def hotplug_stress_race(s):
    """Short runs with several seeds: hotplug, suspend and injections on the
    console thread racing the helper's VM create/run/destroy."""
    for seed in (1, 2, 3):
        _stress(s, 300, seed, s.scaled(300))


@scenario(targets=[QEMU_SVM4], timeout=900)
def hotplug_stress_2000(s):
    _stress(s, 2000, 20261121, s.scaled(800))


@scenario(targets=[BOCHS_VMX4], timeout=1200)
def hotplug_stress_vmx(s):
    _stress(s, 2000, 5, s.scaled(1100))


@scenario(targets=[QEMU_SVM4], real=True)
def stress_errors(s):
    s.error("stress ops=0", match=r"bad value '0' for ops= \(expected 1\.\.10000000\)")
    s.error("stress bogus=1", match=r"unknown option 'bogus=1'")
    s.error("stress 5", match=r"unexpected argument '5'")


@scenario(targets=[QEMU_SVM4, BOCHS_VMX4], timeout=600, real=True)
def hotplug_online_fails_during_first_vm(s):
    """An enable failure injected into an online while another CPU creates the
    first VM (the creation's enable made slow): the online waits for the
    creation, which succeeds; the online is vetoed; the invariant holds
    (self-test hotplug_online_fails_during_first_vm, twice)."""
    for _ in range(2):
        r = s.ok("selftest hotplug_online_fails_during_first_vm", timeout=s.scaled(300))
        s.check("skipped" not in r.text(), "the self-test skipped", r.text())
        s.note(" ".join(l for l in r.text().splitlines() if l.startswith("# ")))
    _state(s, set(range(s.smp)), 0, "after the race")


def _stress_clean_run(s, ops, seed):
    """A run that must end `ok` with no violation; returns its summary."""
    r = s.cmd("stress ops=%d seed=%d" % (ops, seed), timeout=s.scaled(400))
    found = [l for l in r.text().splitlines() if "violation:" in l or "violation op=" in l]
    s.check(r.status == "ok", "stress failed: %s; %s" % (r.error, " | ".join(found[:5]) or "no violation line"),
            r.text())
    s.eq(r.records[-1] if r.records else {}, {"ops": str(ops), "seed": str(seed), "violations": "0"},
         "final stress line")
    return next(iter(r.where("out_of_memory")), {})


@scenario(targets=[QEMU_SVM4_128M], timeout=1200)
def stress_leaves_the_users_setup_alone(s):
    """What the user set up before `stress` is not a violation and is left
    as it was: an armed injection point makes stress refuse to start
    (nothing changes), the user's VM survives the run untouched, and with
    every byte of memory held by the user's VMs, stress's own VM creates
    failing for memory are counted as out_of_memory, not violations."""
    mine = _create(s)
    s.ok("inject cpuhp_online_fail cpu=1 count=0")
    s.error("stress ops=20 seed=4", match=r"^injection point 'cpuhp_online_fail' is armed: stress arms and clears "
                                          r"its own \(inject clear first\)$")
    armed = [p["point"] for p in s.ok("inject list").where("point") if p.get("armed") != "0"]
    s.eq(armed, ["cpuhp_online_fail"], "armed injection points after the refusal")
    s.ok("inject clear")

    _stress_clean_run(s, 150, 4)
    s.eq([v.get("vm") for v in s.ok("vm list").where("vm")], [mine], "VMs after the run (the user's)")
    _state(s, set(range(s.smp)), 1, "after stress with the user's VM")

    ids = [mine]
    for _ in range(4000):
        r = s.cmd("vm create")
        if r.status != "ok":
            s.match(r"out of memory", r.error, "the vm create that filled memory")
            break
        ids.append(r.records[0]["vm"])
    s.note("%d VMs filled %s" % (len(ids), s.target.mem))
    summary = _stress_clean_run(s, 150, 5)
    short = int(summary.get("out_of_memory", "0")) + int(summary.get("helper_out_of_memory", "0"))
    s.check(short > 0, "no VM create ran out of memory with memory full", str(summary))
    s.eq(len(s.ok("vm list").where("vm")), len(ids), "VMs after the run (the user's)")
    for vid in ids:
        s.ok("vm destroy %s" % vid)
    _state(s, set(range(s.smp)), 0, "after destroying the user's VMs")

"""Virtualization enabling under the usage count (docs/design.md section 4):
per-CPU compatibility checks and VMX/SVM enabling under a usage count and mutex.

On every CPU model: create a VM, see every CPU enabled, run the built-in
guest on every CPU, destroy it, see every CPU disabled; then the injected
failures roll every CPU back with a message naming the CPU and the reason.
SVM under QEMU TCG (several AMD models), VMX under Bochs (several Intel
models), SVM under Bochs too (ryzen)."""

from harness.scenario import scenario
from _targets import (BOCHS_SVM, BOCHS_VMX_MODELS, QEMU_SVM_LIFECYCLE, QEMU_SVM2, QEMU_SVM4,
                      refused_target)

QEMU_SVM = QEMU_SVM_LIFECYCLE
BOCHS_VMX = BOCHS_VMX_MODELS

# Models without usable virtualization: `vm create` is refused with the
# precise reason, and nothing changes.  Keyed by (emulator, model).
REFUSED = {
    ("qemu", "qemu64"): r"SVM without nested paging \(CPUID 0x8000000A EDX\[0\]=0\)",
    ("qemu", "Haswell"): r"CPU has no VMX \(CPUID\.1:ECX\.VMX=0\)$",
    ("qemu", "max,-npt"): r"SVM without nested paging \(CPUID 0x8000000A EDX\[0\]=0\)",
    ("qemu", "Haswell,+svm"): r"CPU has no VMX .*; SVM is present .* but needs an AMD or Hygon vendor",
    ("bochs", "core2_penryn_t9600"): r"VMX has no EPT \(IA32_VMX_PROCBASED_CTLS2=",
    ("bochs", "corei5_lynnfield_750"): r"VMX has no unrestricted guest \(IA32_VMX_PROCBASED_CTLS2=",
    ("bochs", "athlon64_venice"): r"SVM not supported \(CPUID 0x80000001 ECX\[2\]=0\)",
}


def _virt(s):
    r = s.ok("virt")
    return r.records[0]


def _all(n):
    return "0" if n == 1 else "0-%d" % (n - 1)


def _lifecycle(s, vendor):
    n = s.smp
    v = _virt(s)
    s.eq(v.get("vendor"), vendor, "backend")
    s.eq(v.get("usage"), "0", "usage before any VM")
    s.eq(v.get("enabled"), "none", "enabled CPUs before any VM")
    cpus = s.ok("cpus").where("cpu")
    s.eq([c.get("state") for c in cpus], ["online"] * n, "every CPU online")
    for c in cpus:
        s.eq(c.get("compat"), "ok", "compat of cpu %s" % c["cpu"])
    if "6,sockets=2" in s.target.args:
        # 3 cores per socket: QEMU rounds the core field up to 2 bits.
        s.eq([c.get("apic") for c in cpus], ["0", "1", "2", "4", "5", "6"], "APIC IDs of 2 sockets")
    vm = s.ok("vm create").records[0]["vm"]
    v = _virt(s)
    s.eq(v.get("usage"), "1", "usage with one VM")
    s.eq(v.get("enabled"), _all(n), "enabled CPUs with one VM")
    s.eq([c["virt"] for c in s.ok("cpus").where("cpu")], ["on"] * n, "virt= per CPU")
    s.ok("check")
    for cpu in range(n):
        rec = s.ok("vm run %s cpu=%d exits=200" % (vm, cpu), timeout=s.scaled(300)).records[0]
        s.eq(rec.get("cpu"), str(cpu), "cpu of the run")
        s.eq(rec.get("exits"), "200", "exits")
        s.check(int(rec.get("hypercalls", "0")) > 0, "no hypercall seen on cpu %d" % cpu)
        s.note("cpu %d: last_exit=%s ns_per_exit=%s" % (cpu, rec.get("last_exit"), rec.get("ns_per_exit")))
    if n > 1:
        # Offline and online with a VM: the CPU leaves with virtualization
        # disabled and comes back enabled, and runs the guest again.
        last = n - 1
        s.ok("cpu offline %d" % last, timeout=s.scaled(120))
        s.eq(_virt(s).get("enabled"), _all(n - 1), "enabled CPUs with cpu %d offline" % last)
        s.ok("cpu online %d" % last, timeout=s.scaled(120))
        s.eq(_virt(s).get("enabled"), _all(n), "enabled CPUs after cpu %d came back" % last)
        s.ok("vm run %s cpu=%d exits=50" % (vm, last), timeout=s.scaled(120))
        s.ok("check")
    vm2 = s.ok("vm create").records[0]["vm"]
    s.eq(_virt(s).get("usage"), "2", "usage with two VMs")
    s.ok("vm destroy %s" % vm)
    s.eq(_virt(s).get("enabled"), _all(n), "still enabled while one VM is left")
    s.ok("vm destroy %s" % vm2)
    v = _virt(s)
    s.eq(v.get("usage"), "0", "usage after the last VM")
    s.eq(v.get("enabled"), "none", "enabled CPUs after the last VM")
    s.ok("check")


def _bad_guests(s):
    vm = s.ok("vm create").records[0]["vm"]
    s.error("vm run %s cpu=0 guest=wild" % vm,
            match=r"guest touched unmapped guest-physical 0x40000000.*vm %s destroyed" % vm)
    s.error("vm destroy %s" % vm, match=r"no VM with id %s" % vm)
    s.eq(_virt(s).get("usage"), "0", "usage after the wild guest's VM was destroyed")
    vm = s.ok("vm create").records[0]["vm"]
    s.error("vm run %s cpu=%d guest=badinsn" % (vm, s.smp - 1),
            match=r"undefined instruction.*vm %s destroyed" % vm)
    s.ok("check")


def _injected(s, compat_point, compat_match):
    last = s.smp - 1
    # Enable fails on one CPU: the VM is refused and every CPU rolled back.
    s.ok("inject virt_enable_fail cpu=%d" % last)
    s.error("vm create", match=r"^cpu %d: enable failed \(injected\)$" % last)
    v = _virt(s)
    s.eq((v.get("usage"), v.get("enabled")), ("0", "none"), "state after the failed enable")
    s.ok("check")
    # One CPU's compatibility snapshot differs: refused with the field named.
    s.ok("inject %s cpu=%d" % (compat_point, last))
    s.error("vm create", match=r"^cpu %d: .*%s" % (last, compat_match))
    v = _virt(s)
    s.eq((v.get("usage"), v.get("enabled")), ("0", "none"), "state after the incompatible CPU")
    s.ok("inject clear")
    vm = s.ok("vm create").records[0]["vm"]
    s.eq(_virt(s).get("enabled"), _all(s.smp), "enabled once the injection is gone")
    s.ok("vm destroy %s" % vm)
    s.ok("check")


@scenario(targets=QEMU_SVM + BOCHS_SVM, timeout=900)
def virt_svm_lifecycle(s):
    _lifecycle(s, "svm")
    _bad_guests(s)


@scenario(targets=BOCHS_VMX, timeout=900)
def virt_vmx_lifecycle(s):
    _lifecycle(s, "vmx")
    _bad_guests(s)


@scenario(targets=[refused_target(k, c) for k, c in REFUSED])
def virt_refused(s):
    why = REFUSED[(s.target.kind, s.target.cpu)]
    s.eq(_virt(s).get("vendor"), "none", "backend")
    r = s.error("vm create", match=r"^virtualization unavailable: .*" + why)
    s.note(r.error)
    s.eq(_virt(s).get("usage"), "0", "usage after the refusal")
    s.ok("check")


@scenario(targets=[QEMU_SVM4] + BOCHS_SVM[:1])
def virt_svm_injected(s):
    _injected(s, "cr4_mask", r"cr4_reserved_mask=0x[0-9a-f]+ differs from the boot CPU's 0x[0-9a-f]+")
    _injected(s, "svm_disabled", r"SVM disabled by firmware \(VM_CR\.SVMDIS=1\) \(injected\)")


@scenario(targets=BOCHS_VMX[:1])
def virt_vmx_injected(s):
    _injected(s, "cr4_mask", r"cr4_reserved_mask=0x[0-9a-f]+ differs from the boot CPU's 0x[0-9a-f]+")
    _injected(s, "vmx_cap", r"VMX_PROCBASED_CTLS2=0x[0-9a-f]+ differs from the boot CPU's 0x[0-9a-f]+")


@scenario(targets=[QEMU_SVM2], cmdline="virt=off")
def virt_off(s):
    s.eq(_virt(s).get("vendor"), "none", "backend with virt=off")
    s.error("vm create", match=r"virtualization unavailable: virtualization is off \(virt=off\)")
    s.ok("check")


@scenario(targets=[QEMU_SVM2], real=True)
def virt_console_errors(s):
    s.error("vm destroy 99", match=r"no VM with id 99")
    s.error("vm run 99", match=r"no VM with id 99")
    s.error("vm run x", match=r"bad value 'x' for <id>")
    s.error("vm frob", match=r"unknown vm subcommand 'frob'")
    vm = s.ok("vm create").records[0]["vm"]
    s.error("vm run %s cpu=7" % vm, match=r"cpu=")
    s.error("vm run %s exits=0" % vm, match=r"exits=")
    s.error("vm run %s guest=odd" % vm, match=r"guest=")
    s.error("vm run %s bogus=1" % vm, match=r"bogus")
    s.error("inject nosuchpoint", match=r"unknown injection point 'nosuchpoint'")
    s.ok("vm destroy %s" % vm)
    s.eq(_virt(s).get("usage"), "0", "usage after the errors")
    s.ok("check")


@scenario(targets=[QEMU_SVM2], cmdline="virt_lock=vmlist")
def virt_old_design_lockdep(s):
    """The old design (count under the VM-list lock), replayed by the
    self-test with its own lock: lockdep reports the cycle with the
    CPU-hotplug lock the first time it is seen.  virt_lock=, which used to
    switch the kernel to that design, is refused with an error."""
    s.log_has(r"cmdline: bad value 'vmlist' for virt_lock= \(expected none: removed; selftest virt_lock_order\)",
              "removed parameter refused")
    r = s.ok("selftest virt_lock_order")
    s.check(any("design=vmlist" in l and "reports=1" in l for l in r.lines), "no report noted", r.text())
    s.log_has(r"lockdep: WARNING: possible circular locking dependency detected", "cycle report")
    s.log_has(r"lockdep: new dependency: cpu_hotplug_lock -> old_vm_list_lock", "new edge")
    s.log_has(r"lockdep: existing dependency chain old_vm_list_lock -> \.\.\. -> cpu_hotplug_lock", "old chain")
    s.eq(s.ok("lockdep").records[0].get("violations"), "0", "planted report not counted")


@scenario(targets=[QEMU_SVM2], real=True)
def virt_new_design_lockdep(s):
    r = s.ok("selftest virt_lock_order")
    s.check(any("design=usage" in l and "reports=0" in l for l in r.lines), "lockdep reported", r.text())


@scenario(targets=[QEMU_SVM2])
def vm_list_fields(s):
    """`vm list` prints exactly the fields docs/console.md lists, runs=
    counting the completed `vm run`s of each VM (a refused run is not one)."""
    a = s.ok("vm create").records[0]["vm"]
    b = s.ok("vm create").records[0]["vm"]
    for _ in range(2):
        s.ok("vm run %s cpu=1 exits=3" % a, timeout=s.scaled(120))
    s.error("vm run %s cpu=2" % b, match=r"cpu=")
    recs = {r["vm"]: r for r in s.ok("vm list").where("vm")}
    s.eq(sorted(recs), sorted([a, b]), "VMs listed")
    for vid, runs in ((a, "2"), (b, "0")):
        s.eq(sorted(recs[vid]), ["mem", "runs", "slots", "state", "vcpus", "vm"], "vm %s fields" % vid)
        s.eq(recs[vid]["runs"], runs, "vm %s runs=" % vid)
    s.ok("vm destroy %s" % a)
    s.ok("vm destroy %s" % b)


@scenario(targets=[QEMU_SVM4, BOCHS_VMX[0], BOCHS_SVM[0]], timeout=900)
def virt_interrupt_exits(s):
    """The host's interrupts make a running guest exit and are taken by the
    host between two entries: the spinning guest (millions of instructions
    between its hypercalls) gets interrupt exits, the CPU's timer keeps
    ticking through the run, and `check` (every CPU's timer ticking) passes
    after it.  A kick gets a running guest out."""
    vm = s.ok("vm create").records[0]["vm"]
    cpu = s.smp - 1
    rec = s.ok("vm run %s cpu=%d exits=40 guest=spin" % (vm, cpu), timeout=s.scaled(300)).records[0]
    intr, ticks = int(rec["intr_exits"]), int(rec["timer_ticks"])
    s.check(intr > 0, "no interrupt exit in 40 exits of the spinning guest", rec)
    s.check(ticks >= intr, "%d timer ticks on cpu %d during the run, %d interrupt exits" % (ticks, cpu, intr), rec)
    # The rest: nested page faults mapping the guest's pages from its slots.
    s.eq(intr + int(rec["hypercalls"]) + int(rec["mem_fault_exits"]), 40,
         "interrupt exits + hypercalls + nested page faults")
    s.ok("check")
    s.ok("vm destroy %s" % vm)
    # `vm run` publishes guest mode: a STOP request and its kick from another
    # CPU end a run of the spinning guest at once (core/virt/vm_kick_selftest.c).
    r = s.ok("selftest vm_run_kick", timeout=s.scaled(300))
    s.check("ok 1 vm_run_kick" in r.lines, "selftest vm_run_kick did not pass", r.text())
    s.check(not any("skipped" in l for l in r.lines), "selftest vm_run_kick skipped", r.text())
    s.ok("check")


# The backend contract self-test (arch/x86/virt/backend_selftest.c) plus the
# checks only one technology has, and the exit benchmark, on a CPU model
# that has the technology; the other technology's tests pass with a note
# that it is unavailable.
def _backend_selftests(s, ran, skipped, bench):
    for name in ran + skipped:
        r = s.ok("selftest %s" % name, timeout=s.scaled(600))
        s.check("ok 1 %s" % name in r.lines, "selftest %s did not pass" % name, r.text())
        unavailable = any("unavailable, nothing tested" in l for l in r.lines)
        s.check(unavailable == (name in skipped),
                "selftest %s %s" % (name, "did nothing" if unavailable else "ran where it cannot"), r.text())
    r = s.ok("bench %s" % bench, timeout=s.scaled(300))
    s.match(r"^bench=%s median=\d+ min=\d+ max=\d+ unit=ns samples=16$" % bench, r.lines[0], "bench %s" % bench)
    s.ok("check")


@scenario(targets=[QEMU_SVM4] + BOCHS_SVM[:1], timeout=900)
def virt_svm_backend_selftests(s):
    _backend_selftests(s, ["svm"], ["vmx_cpu", "vmx_guest"], "svm_exit")


@scenario(targets=BOCHS_VMX[:1], timeout=1800)
def virt_vmx_backend_selftests(s):
    _backend_selftests(s, ["vmx_cpu", "vmx_guest"], ["svm"], "vmx_exit")

"""Shutdown, reboot and panic with virtualization on (docs/design.md section 7).

- Panic: the panicking CPU stops every other online CPU with an NMI; each
  leaves virtualization (emergency disable) and halts; the panicking CPU
  prints one line per CPU with what that CPU's hardware said afterwards, then
  stops the machine with the failure status.  Panics from the shell's task,
  on another CPU in a cross-CPU call, in NMI context, two at once, a panic
  inside panic, with a CPU that answers late or never, and without a
  virtualization backend.
- Reboot and poweroff: virtualization is disabled on every CPU first, and
  the count is printed.

SVM under QEMU TCG (-cpu max), VMX under Bochs (corei7_skylake_x), 4 CPUs.
(That later enables are refused once the system is rebooting is tested on
the host, tests/unit/test_virt_reboot.c: after a reboot nothing is left on
the console to ask.)"""

import re

from harness.scenario import scenario
from _panic import all_off, expect_panic_stop, panic_report
from _targets import BOCHS_VMX4, QEMU_SVM4

GROUPS = ("virt", "power")

def _all(n):
    return "0" if n == 1 else "0-%d" % (n - 1)


def _vm_everywhere(s):
    s.ok("vm create")
    v = s.ok("virt").records[0]
    s.eq(v.get("enabled"), _all(s.smp), "CPUs with virtualization on before the stop")


def _panic(s, command):
    """Type a crash command; the machine must stop with the failure status.
    Returns {cpu: (how, virt)} from the per-CPU lines."""
    expect_panic_stop(s, command)
    cpus = panic_report(s)
    s.log_has(r"KERNEL PANIC: stopping the machine", "final panic line")
    return cpus


@scenario(targets=[QEMU_SVM4, BOCHS_VMX4])
def panic_stops_every_cpu(s):
    """The shell's CPU panics with a VM present: every CPU stopped, all off."""
    _vm_everywhere(s)
    cpus = _panic(s, "crash panic")
    all_off(s, cpus, 0)
    s.log_has(r"KERNEL PANIC: crash command: panic requested from the console", "panic message")


@scenario(targets=[QEMU_SVM4])
def panic_on_ap(s):
    """An application processor panics in a cross-CPU call; the boot CPU
    (running the shell) is one of those stopped by NMI."""
    _vm_everywhere(s)
    cpus = _panic(s, "crash panic cpu=2")
    all_off(s, cpus, 2)
    s.log_has(r"KERNEL PANIC: crash command: panic on CPU 2 in a cross-CPU call", "panic message")


@scenario(targets=[QEMU_SVM4, BOCHS_VMX4])
def panic_in_nmi(s):
    """A panic in NMI context (NMIs blocked on the panicking CPU) on an AP."""
    _vm_everywhere(s)
    cpus = _panic(s, "crash panic cpu=3 in=nmi")
    all_off(s, cpus, 3)
    s.log_has(r"KERNEL PANIC: crash command: panic in NMI context on CPU 3", "panic message")


@scenario(targets=[QEMU_SVM4])
def second_panic(s):
    """CPU 1 panics from NMI context while CPU 0 is panicking: CPU 1 cannot
    take the NMI, so its own panic must stop it; one report only."""
    _vm_everywhere(s)
    cpus = _panic(s, "crash panic also=1")
    all_off(s, cpus, 0)
    s.eq(cpus[1][0], "stopped (it panicked too)", "how CPU 1 is reported")
    s.eq(len(s.con.search(r"KERNEL PANIC: crash command")), 1, "panic messages printed")
    s.eq(len(s.con.search(r"KERNEL PANIC: stopping the machine")), 1, "final panic lines")


@scenario(targets=[QEMU_SVM4])
def nested_panic(s):
    """Formatting the panic message faults: the panic inside panic still
    stops every CPU and reports them."""
    _vm_everywhere(s)
    cpus = _panic(s, "crash panic nested=1")
    all_off(s, cpus, 0)
    s.log_has(r"KERNEL PANIC: while panicking: unhandled exception 14 \(page fault\)", "the nested panic")


@scenario(targets=[QEMU_SVM4])
def panic_waits_for_a_late_cpu(s):
    """CPU 2 is busy in its NMI handler (NMIs blocked) for 300 ms when the
    panic starts: the panicking CPU waits for it, and it is stopped."""
    _vm_everywhere(s)
    cpus = _panic(s, "crash panic slow=2")
    all_off(s, cpus, 0)
    s.eq(cpus[2][0], "stopped", "how the late CPU is reported")


@scenario(targets=[QEMU_SVM4])
def panic_with_a_stuck_cpu(s):
    """CPU 3 never answers (stuck in its NMI handler): the wait is bounded,
    the report says so, and the machine still stops."""
    _vm_everywhere(s)
    cpus = _panic(s, "crash panic stuck=3")
    s.eq(cpus[3], ("did not answer the NMI", None), "CPU 3 in the report")
    del cpus[3]
    all_off(s, cpus, 0)


@scenario(targets=[QEMU_SVM4], cmdline="virt=off")
def panic_without_virt(s):
    """No virtualization backend: the CPUs are still stopped and say so."""
    cpus = _panic(s, "crash panic")
    all_off(s, cpus, 0, virt="no virtualization backend")


def _reboot(s, command):
    s.con.wait_prompt()
    s.send(command + "\r")
    line = s.expect(r"%s: virtualization disabled on \d+ CPUs?" % command, timeout=s.scaled(60))
    return line


def _disabled_count(s, command):
    lines = s.con.search(r"%s: virtualization disabled on (\d+) CPU" % command)
    s.eq(len(lines), 1, "'virtualization disabled' lines")
    return int(re.search(r"disabled on (\d+) CPU", lines[0]).group(1))


@scenario(targets=[QEMU_SVM4, BOCHS_VMX4])
def reboot_disables_every_cpu(s):
    _vm_everywhere(s)
    _reboot(s, "reboot")
    s.eq(_disabled_count(s, "reboot"), s.smp, "CPUs disabled by reboot")
    s.check(not s.con.search(r"still has virtualization on"), "a CPU kept virtualization on")
    if s.target.kind == "qemu":
        info = s.expect_exit(clean=None)
        s.check("guest reset" in info.reason, "QEMU stopped by: %s (expected the reset)" % info.reason)
    else:
        # Bochs resets the machine (a "software" reset: the keyboard
        # controller's pulse) and its BIOS starts again.  That BIOS then
        # writes IA32_FEATURE_CONTROL, which a software reset leaves locked,
        # and triple-faults (reset_on_triple_fault=0 ends the run): a Bochs
        # BIOS limitation, after our part is done.  A triple fault of the
        # kernel's own last-resort reset would show no Reset() at all.
        info = s.expect_exit(clean=None, timeout=s.scaled(120))
        log = s.machine.bochs_log_text() or ""
        boot = log.find("Booting from")
        s.check(boot >= 0 and "bx_pc_system_c::Reset(" in log[boot:],
                "Bochs was not reset after the kernel booted (stopped: %s)" % info.reason)
        s.check(log.count("Starting rombios32") == 2, "the BIOS did not start again after the reset")
        s.note("after the reset: %s" % info.reason)
    s.note("reboot: %s" % s.con.search(r"reboot: virtualization disabled")[0].strip())


@scenario(targets=[QEMU_SVM4])
def reboot_without_vm(s):
    _reboot(s, "reboot")
    s.eq(_disabled_count(s, "reboot"), 0, "CPUs disabled by reboot with no VM")
    s.expect_exit(clean=None)


@scenario(targets=[QEMU_SVM4])
def poweroff_disables_every_cpu(s):
    _vm_everywhere(s)
    s.con.wait_prompt()
    s.send("poweroff\r")
    s.expect_exit(clean=True)
    s.eq(_disabled_count(s, "poweroff"), s.smp, "CPUs disabled by poweroff")
    s.check(not s.con.search(r"still has virtualization on"), "a CPU kept virtualization on")


@scenario(targets=[QEMU_SVM4])
def panic_in_nmi_with_a_stuck_cpu(s):
    """CPU 3 is told to get stuck, then CPU 1 to panic in NMI context: each
    request is CPU 1's or CPU 3's own (they once shared one variable, and CPU
    3 panicked instead of CPU 1 when it read it late).  inject crash_nmi_slow
    makes CPU 3 read late every time."""
    _vm_everywhere(s)
    s.ok("inject crash_nmi_slow cpu=3")
    cpus = _panic(s, "crash panic cpu=1 in=nmi stuck=3")
    s.log_has(r"KERNEL PANIC: crash command: panic in NMI context on CPU 1", "panic message")
    s.eq(cpus[3], ("did not answer the NMI", None), "CPU 3 in the report")
    del cpus[3]
    all_off(s, cpus, 1)


@scenario(targets=[QEMU_SVM4])
def panic_with_a_stuck_cpu_under_the_shell(s):
    """The shell's task is unbound: when it sat on the CPU told to get stuck,
    that CPU got stuck in its own NMI handler with the shell and the machine
    hung.  Refused `crash panic cpu=3 in=task also=3` leaves the shell on CPU
    3; the next command must still panic CPU 1 and end."""
    _vm_everywhere(s)
    s.error("crash panic cpu=3 in=task also=3", match=r"name another online CPU")
    cpus = _panic(s, "crash panic cpu=1 stuck=3")
    s.log_has(r"KERNEL PANIC: crash command: panic on CPU 1 in a cross-CPU call", "panic message")
    s.eq(cpus[3], ("did not answer the NMI", None), "CPU 3 in the report")
    del cpus[3]
    all_off(s, cpus, 1)

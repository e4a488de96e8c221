"""ACPI S3, suspend to RAM, the architecture half (docs/design.md section 6): the
`s3 enter` test command calls platform_sleep_enter() on the boot CPU alone.  QEMU
reports the sleep with the QMP SUSPEND event; the harness answers it with
system_wakeup (after the scenario's s3_wakeup delay); QEMU resets the machine
and OVMF resumes into the FACS waking vector, the trampoline's S3 entry.

After every cycle: the reply came (the console survived the UART reset), the
kernel and QEMU counted the same number of wake-ups, SCI_EN is as before, the
LAPIC timer ticks again (the tick count moves, and `check` includes the timer
invariant), and `check` passes; the TSC counted the time asleep, and the
framebuffer console still draws.  Refusals change nothing: another CPU
online, virtualization still enabled, a machine without S3
(`-global ICH9-LPC.disable_s3=1`: QEMU leaves \\_S3 out of the DSDT).  Bochs
(legacy BIOS, GRUB) takes the same path through its own BIOS.  The cycle
times (kernel TSC and host) are reported as notes."""

import os
import statistics
import time

from harness.scenario import scenario
from _targets import BOCHS_1, NO_S3_1, QEMU_1, QEMU_2

CYCLES = 5
LONG_WAKEUP = 3.0        # seconds asleep in the last cycle: longer than OVMF's resume, so
                         # a TSC that stopped in S3 would show it
GROUPS = ("power",)


def _info(s):
    r = s.ok("s3 info")
    return {k: v for rec in r.records for k, v in rec.items()}


def _ticks_move(s, before):
    """The boot CPU's LAPIC timer ticks after the wake (1 kHz periodic)."""
    deadline = time.monotonic() + s.scaled(10)
    while True:
        ticks = int(_info(s)["ticks"])
        if ticks > before:
            return ticks
        if time.monotonic() > deadline:
            s.fail("LAPIC timer ticks stuck at %d after the wake" % ticks)
        time.sleep(0.05)


def _cycle(s, n):
    """One `s3 enter`; returns the kernel's s3=resumed record (times in us)
    with the host's round trip for the command added as "host_s"."""
    t0 = time.monotonic()
    r = s.ok("s3 enter", timeout=s.scaled(180))
    host = time.monotonic() - t0
    rec = r.find(s3="resumed")
    s.check(rec, "no s3=resumed record", r.text())
    rec = rec[0]
    s.eq(int(rec["wakeups"]), n, "kernel wake-up count after cycle %d" % n)
    s.eq(s.suspends, n, "QMP SUSPEND events after cycle %d" % n)
    s.eq(s.wakeups, n, "QMP WAKEUP events after cycle %d" % n)
    s.check(s.qmp is not None and not s.qmp.wakeup_errors,
            "system_wakeup failed: %s" % (s.qmp.wakeup_errors if s.qmp else "no QMP"))
    s.check(any("s3: resumed after" in line for line in r.logs) or
            s.log_has(r"s3: resumed after \d+ ms"), "no 's3: resumed after' log line", r.text())
    _ticks_move(s, int(rec["ticks_before"]))
    s.ok("check")
    s.ok("version")
    out = {k: int(v) for k, v in rec.items() if k.endswith("_us")}
    out["host_s"] = host
    return out


@scenario(targets=[QEMU_1], timeout=900)
def s3_suspend_resume_cycles(s):
    """Several S3 cycles in a row on one CPU; the last one sleeps longer."""
    info = _info(s)
    s.eq(info.get("supported"), "yes", "s3 info supported")
    s.eq(info.get("wakeups"), "0", "wake-ups before the first cycle")
    sci_en = info.get("sci_en")
    runs = []
    for n in range(1, CYCLES + 1):
        runs.append(_cycle(s, n))
        # The wake clears SCI_EN (PM1 control reset); the kernel hands the
        # SCI back to the OS if it had it.
        s.eq(_info(s).get("sci_en"), sci_en, "SCI_EN after cycle %d" % n)

    def med(key):
        return statistics.median(r[key] for r in runs)
    # The harness's host-side view of the same cycles: SUSPEND -> WAKEUP.
    asleep = [w - u for u, w in s.s3_cycles if w is not None]
    s.eq(len(asleep), CYCLES, "completed SUSPEND/WAKEUP pairs")
    cycles = [r["cycle_us"] for r in runs]
    s.note("S3 cycle (kernel TSC, s3 enter to return): median %.0f ms of %d (min %.0f, max %.0f): "
           "save %.0f us, SLP_EN to waking vector %.0f ms, restore %.0f us (medians)" % (
               med("cycle_us") / 1e3, CYCLES, min(cycles) / 1e3, max(cycles) / 1e3, med("save_us"),
               med("sleep_us") / 1e3, med("restore_us")))
    s.note("host: SUSPEND->WAKEUP (the harness's wake-up delay) median %.0f ms; command round trip "
           "median %.0f ms" % (statistics.median(asleep) * 1e3, med("host_s") * 1e3))
    # A longer sleep: the TSC keeps counting in S3, so the kernel's SLP_EN ->
    # waking vector time covers the host's SUSPEND -> WAKEUP time.
    s.set_s3_wakeup(LONG_WAKEUP)
    r = _cycle(s, CYCLES + 1)
    c, sl = r["cycle_us"], r["sleep_us"]
    u, w = s.s3_cycles[-1]
    s.check(sl >= (w - u) * 1e6 * 0.95,
            "SLP_EN to waking vector took %.0f ms (TSC) but the machine slept %.0f ms: "
            "the TSC did not count the sleep" % (sl / 1e3, (w - u) * 1e3))
    s.note("with a %.1f s sleep: cycle %.0f ms, SLP_EN to waking vector %.0f ms (host: asleep %.0f ms)" % (
        LONG_WAKEUP, c / 1e3, sl / 1e3, (w - u) * 1e3))
    _framebuffer_alive(s)


def _screen(s, name):
    path = os.path.join(s.machine.tmp, name)
    s.qmp.command("screendump", filename=path)
    with open(path, "rb") as f:
        return f.read()


def _framebuffer_alive(s):
    """The framebuffer console still draws after the wakes: the reset
    cleared the display's PCI BAR, which the kernel put back (s3_pci.c).
    Two screen dumps around a command that prints must differ."""
    if not any("fb: " in line for line in s.boot_lines):
        return
    before = _screen(s, "s3-before.ppm")
    s.ok("s3 info")
    s.ok("version")
    after = _screen(s, "s3-after.ppm")
    s.check(before != after, "the framebuffer console did not change after a command: "
            "its output goes nowhere after S3")


@scenario(targets=[QEMU_2], cmdline="maxcpus=1", timeout=600)
def s3_second_cpu_left_offline(s):
    """A 2-CPU machine booted with maxcpus=1: the AP is reset by every wake
    (and may be started by the firmware's resume path); vigil never uses it,
    and the boot CPU comes back each time."""
    r = s.ok("cpus")
    s.eq(r.get("online"), "1", "online CPUs")
    for n in range(1, 3):
        _cycle(s, n)
    r = s.ok("cpus")
    s.eq(r.get("online"), "1", "online CPUs after S3")


@scenario(targets=[QEMU_2], s3_wakeup=None)
def s3_refused_with_other_cpus_online(s):
    """`s3 enter` is for the boot CPU alone; with an AP online it refuses
    before touching anything (the real `suspend s3` offlines the APs)."""
    s.error("s3 enter", match=r"needs the boot CPU alone online \(2 CPUs online")
    s.eq(s.suspends, 0, "QMP SUSPEND events")
    s.eq(_info(s).get("wakeups"), "0", "kernel wake-ups")
    s.ok("check")


@scenario(targets=[NO_S3_1], s3_wakeup=None)
def s3_unsupported_machine(s):
    """QEMU with S3 disabled: no \\_S3 in the DSDT, so `s3 enter` fails with
    that reason and the machine carries on unchanged."""
    info = _info(s)
    s.eq(info.get("supported"), "no", "s3 info supported")
    before = int(info["ticks"])
    s.error("s3 enter", match=r"^S3 not supported: no \\_S3 package in the DSDT$")
    s.eq(s.suspends, 0, "QMP SUSPEND events")
    info = _info(s)
    s.eq(info.get("wakeups"), "0", "kernel wake-ups")
    _ticks_move(s, before)
    s.ok("check")


@scenario(targets=[QEMU_1], timeout=600)
def s3_and_virtualization(s):
    """Virtualization does not survive S3 (VMX operation and EFER.SVME are
    processor context): with a VM, arch_s3_enter refuses, naming the bit;
    without one it sleeps, and afterwards a VM is created (virtualization
    enabled again on the woken CPU, compatibility checked) and runs."""
    vm = s.ok("vm create").get("vm")
    s.error("s3 enter", match=r"virtualization is still enabled on the boot CPU \((EFER\.SVME|CR4\.VMXE) set\)")
    s.eq(s.suspends, 0, "QMP SUSPEND events")
    s.ok("vm destroy %s" % vm)
    _cycle(s, 1)
    vm = s.ok("vm create").get("vm")
    r = s.ok("vm run %s exits=50" % vm)
    s.eq(r.get("exits"), "50", "guest exits after S3")
    s.ok("vm destroy %s" % vm)
    s.ok("check")


@scenario(targets=[BOCHS_1], timeout=900)
def s3_bochs_bios(s):
    """The same under Bochs: GRUB/Multiboot2 boot, the Bochs BIOS's S3
    resume path, no QMP (Bochs wakes at once by itself).  Bochs restarts
    the TSC in S3: the kernel sets it forward so its clock never goes back."""
    info = _info(s)
    s.eq(info.get("supported"), "yes", "s3 info supported")
    for n in range(1, 4):
        before = _info(s)
        r = s.ok("s3 enter", timeout=s.scaled(120))
        rec = r.find(s3="resumed")
        s.check(rec, "no s3=resumed record", r.text())
        s.eq(rec[0].get("wakeups"), str(n), "kernel wake-up count after cycle %d" % n)
        after = _info(s)
        s.check(int(after["uptime_ms"]) >= int(before["uptime_ms"]),
                "the kernel clock went back across S3: %s ms before, %s ms after" % (
                    before["uptime_ms"], after["uptime_ms"]))
        _ticks_move(s, int(after["ticks"]))
        s.ok("check")
    s.note("TSC restarted in S3: %s" % rec[0].get("tsc_restarted"))

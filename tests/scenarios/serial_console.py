"""The serial console: which UART carries it (console=, the ACPI SPCR table,
the fallback to COM1 when the named one cannot be used), and input while a
command runs (type-ahead kept, Ctrl-C interrupts, the input rate figure).

The SPCR scenarios build the table with tools/harness/acpi.py and add a
second 16550 whose output goes to a file: QEMU's `-global
isa-serial.iobase=0x2f8` moves the harness's own serial port to COM2's
address, and `-device isa-serial,iobase=0x3f8` puts the file at COM1's.
"""

import os
import re
import time

from harness.scenario import scenario
from _targets import (BOCHS_1, COM1_FILE, COM2_FILE, QEMU_1, QEMU_2, SPCR_ABSENT, SPCR_COM2,
                      SPCR_COM2_FILE, SPCR_MMIO_IN_RAM)

FALLBACK = r"console: %s \(console=\): %s[^;]*; using the default, COM1 \(I/O port 0x3f8\)"


def _fallback(s, port, why):
    s.boot_log_has(FALLBACK % (port, why), "fallback message")
    s.ok("version")


# ---- console= that names something unusable: COM1 and a message, never silence

@scenario(targets=[QEMU_1, BOCHS_1], cmdline="console=serial,0x2f8")
def console_port_absent_falls_back(s):
    """No UART at 0x2f8: the old kernel booted with no console at all."""
    _fallback(s, r"I/O port 0x2f8", "no UART answers there")


@scenario(targets=[QEMU_1], cmdline="console=serial,mmio,0x10000000000")
def console_mmio_beyond_phys_width(s):
    """1 TiB on a 40-bit CPU: the old kernel faulted before printing anything."""
    _fallback(s, r"MMIO 0x10000000000",
              r"0x10000000000 is beyond the CPU's \d+-bit physical address space")


@scenario(targets=[QEMU_1], cmdline="console=serial,mmio,0xfffffffffffff000")
def console_mmio_top_of_address_space(s):
    _fallback(s, r"MMIO 0xfffffffffffff000",
              r"0xfffffffffffff000 is beyond the CPU's \d+-bit physical address space")


@scenario(targets=[QEMU_1], cmdline="console=serial,mmio,0x200000")
def console_mmio_in_kernel_image(s):
    """The old kernel took the kernel image for a UART and wrote into it."""
    _fallback(s, r"MMIO 0x200000", r"0x200000 is (the kernel image|memory the kernel owns)")


@scenario(targets=[QEMU_1], cmdline="console=serial,mmio,0x1000000")
def console_mmio_in_ram(s):
    _fallback(s, r"MMIO 0x1000000", r"0x1000000 is usable RAM in the memory map")


@scenario(targets=[QEMU_1], cmdline="console=serial,mmio,0xfe000000")
def console_mmio_nothing_there(s):
    """A plausible MMIO address where no UART answers the probe."""
    _fallback(s, r"MMIO 0xfe000000", "no UART answers there")


# ---- the SPCR table

def _read_and_remove(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("ascii", "replace")
    except OSError:
        return ""
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


@scenario(targets=[SPCR_COM2])
def spcr_console_on_com2(s):
    """No console=: the kernel moves to the UART the SPCR names, saying so on both."""
    s.boot_log_has(r"console: I/O port 0x2f8 from the SPCR table, 115200 baud \(was I/O port 0x3f8\)",
                   "the switch, on the new console")
    s.ok("version")
    com1 = _read_and_remove(COM1_FILE)
    s.check("console: moving to I/O port 0x2f8, the SPCR table's console" in com1,
            "COM1 says where the console went", com1[-2000:])
    s.check("vigil> " not in com1, "no prompt on COM1", com1[-2000:])


@scenario(targets=[SPCR_COM2_FILE], cmdline="console=serial")
def spcr_console_cmdline_wins(s):
    s.boot_log_has(r"console: the SPCR table names I/O port 0x2f8; console= on the command line "
                   r"takes precedence", "precedence message")
    s.ok("version")
    com2 = _read_and_remove(COM2_FILE)
    s.check("vigil> " not in com2, "nothing of the console on COM2", com2[-2000:])


@scenario(targets=[SPCR_ABSENT])
def spcr_port_absent(s):
    s.boot_log_has(r"console: the SPCR table names I/O port 0x2e8, but no UART answers there; "
                   r"keeping I/O port 0x3f8", "probe failure")
    s.ok("version")


@scenario(targets=[SPCR_MMIO_IN_RAM])
def spcr_mmio_in_ram(s):
    s.boot_log_has(r"console: the SPCR table names MMIO 0x1000000: 0x1000000 is usable RAM in the "
                   r"memory map .*; keeping I/O port 0x3f8", "validation failure")
    s.ok("version")


# ---- input while a command runs

def _busy_exits(s):
    # Long enough that the typing below happens while the guest runs:
    # an exit costs about 2 us under Bochs and 20-25 us under QEMU TCG.
    return 2000000 if s.target.kind == "bochs" else 200000


@scenario(targets=[QEMU_1, BOCHS_1], shared="serial_input")
def type_ahead_while_busy(s):
    """24 commands (192 bytes, twelve FIFOs) typed while `vm run` runs all
    get their reply; the old kernel read nothing while busy, and a 16550
    (Bochs emulates its overrun) lost everything past 16 bytes."""
    vm = s.ok("vm create").get("vm")
    cmd = "vm run %s exits=%d" % (vm, _busy_exits(s))
    p0 = s.con.prompts
    mark = s.send(cmd + "\r")
    s.expect(re.escape(cmd))
    time.sleep(0.3)
    n = 24
    s.con.write("version\r" * n)
    busy = not s.con.search(r"^(ok|error)", start=mark)
    rep = s.read_reply(mark, cmd, timeout=s.scaled(120))
    s.eq(rep.status, "ok", "vm run's status")
    s.check(busy, "the typing happened while vm run ran (raise exits= if it finished first)")
    s.con.wait_until(lambda: s.con.prompts >= p0 + 1 + n, s.scaled(60),
                     "the prompts after vm run and the %d commands" % n)
    s.ok("version")
    got = len(s.con.search(r"^version=", start=mark))
    errors = s.con.search(r"^error:", start=mark)
    s.eq(errors, [], "error replies to the type-ahead")
    s.eq(got, n + 1, "version replies (type-ahead and one more)")
    s.ok("vm destroy %s" % vm)


@scenario(targets=[QEMU_1, BOCHS_1], shared="serial_input")
def typeahead_loopback_selftest(s):
    """The same with a 16550's overrun: the UART in loopback mode receives 192
    bytes, 8 per timer tick, while the command never reads (neither emulator
    drops bytes from its host side, they flow-control; loopback does not).
    Without the tick's poll 16 of 192 come through."""
    r = s.ok("selftest console_typeahead")
    s.check(any(l.startswith("ok 1 console_typeahead") for l in r.lines), "KTAP ok line", r.text())


@scenario(targets=[QEMU_1, BOCHS_1], shared="serial_input")
def ctrl_c_interrupts_vm_run(s):
    """Ctrl-C stops a 10,000,000-exit run (minutes) with a clear error; the VM
    is kept and still runs, and every invariant holds."""
    vm = s.ok("vm create").get("vm")
    cmd = "vm run %s exits=10000000" % vm
    mark = s.send(cmd + "\r")
    s.expect(re.escape(cmd))
    time.sleep(1.0)
    s.con.write("\x03")
    rep = s.read_reply(mark, cmd, timeout=s.scaled(60))
    s.eq(rep.status, "error", "status after Ctrl-C")
    s.match(r"^interrupted \(Ctrl-C\) after \d+ of 10000000 exits; vm %s kept$" % vm, rep.error,
            "the reply")
    s.ok("check")
    s.check(s.ok("vm list").find(vm=vm), "vm %s still listed" % vm)
    s.ok("vm run %s exits=10" % vm)
    s.ok("vm destroy %s" % vm)
    s.ok("check")


@scenario(targets=[QEMU_2])
def ctrl_c_interrupts_stress(s):
    cmd = "stress ops=1000000"
    mark = s.send(cmd + "\r")
    s.expect(re.escape(cmd))
    time.sleep(2.0)
    s.con.write("\x03")
    rep = s.read_reply(mark, cmd, timeout=s.scaled(120))
    s.eq(rep.status, "error", "status after Ctrl-C")
    s.match(r"^interrupted \(Ctrl-C\) after \d+ of 1000000 steps; cleaned up$", rep.error, "the reply")
    s.check(rep.find(violations="0"), "a final line with violations=0", rep.text())
    s.ok("check")
    s.eq(s.ok("vm list").where("vm"), [], "VMs left")
    s.eq(s.ok("cpus").get("online"), "2", "CPUs online")


@scenario(targets=[QEMU_1, BOCHS_1], shared="serial_input")
def console_rx_figure(s):
    """8 blank lines of 250 spaces (2008 bytes) pasted at once, then
    `bench console_rx`: a figure in B/s (reported, not asserted)."""
    s.con.wait_prompt()
    time.sleep(0.3)   # a pause: the burst starts afresh (50 ms without input ends one)
    p0 = s.con.prompts
    t0 = time.monotonic()
    s.send((" " * 250 + "\r") * 8)
    s.con.wait_until(lambda: s.con.prompts >= p0 + 8, s.scaled(60), "8 prompts")
    host_s = time.monotonic() - t0
    rep = s.ok("bench console_rx")
    recs = rep.find(bench="console_rx")
    rec = recs[0] if recs else {}
    s.check(rec.get("unit") == "B/s" and int(rec.get("samples", 0)) >= 1, "a console_rx figure",
            rep.text())
    s.note("console_rx median=%s B/s (host clock: 2008 bytes echoed in %.2fs)" % (
        rec.get("median"), host_s))

"""A machine on a serial line: real hardware behind a USB serial adapter
(or anything else that puts vigil's console on a tty, like QEMU's -serial pty).

The harness has no power switch and no emulator to ask, so a boot works like
this (SerialMachine.start):

  1. open the tty raw at the baud rate, 8N1 (console.open_tty);
  2. type Ctrl-U and CR: a vigil at its prompt answers with a new prompt;
  3. if it answered, type `reboot` (virtualization off on every CPU, then the
     ACPI reset register), so every boot unit starts from a fresh boot as it
     does in an emulator; if it did not, tell the user to power the machine
     on or reset it, and wait;
  4. wait for the first prompt of the new boot, and check the kernel's banner
     ("vigil <version> (<commit>) booting") is in the boot log, so a machine
     that ignored the reboot is not taken for a fresh one.

What a scenario cannot have here: QMP, the machine's exit (poweroff, panic
exit codes), a command line of its own.  Only scenarios declared with
@scenario(real=True) run on a serial target.  The CPU count (s.smp) is the
kernel's own "vigil: N possible CPUs" boot line.
"""

import os
import re
import sys
import time

from .console import PROMPT, Console, open_tty
from .machine import ExitInfo, MachineError

BANNER_RE = re.compile(r"\bvigil \S+ \(\S+\) booting\b")
POSSIBLE_RE = re.compile(r"\bvigil: (\d+) possible CPUs\b")
# Lines of the old kernel between our `reboot` and the reset.
REBOOT_LINE_RE = re.compile(r"^reboot$|\breboot: ")

# Seconds the machine has to answer the probe at its prompt.
PROBE_TIMEOUT = 5.0
# Seconds from `reboot` (or from telling the user) to the first prompt: real
# firmware takes 10-60 s to POST, and a person needs time to press the button.
SERIAL_BOOT_TIMEOUT = 600.0


def _say(text):
    print("harness: %s" % text, file=sys.stderr, flush=True)


def probe_prompt(transport, timeout):
    """Type Ctrl-U CR and wait for a prompt; True when one came and the line
    then stayed quiet for a moment (so the prompt is the last thing printed)."""
    transport.write(b"\x15\r")
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        data = transport.read(0.3)
        if data:
            buf = (buf + data)[-4096:]
            continue
        if buf.rstrip(b" ").endswith(PROMPT.rstrip().encode()):
            return True
    return False


class SerialMachine:
    """The Machine interface of tools/harness/machine.py, for a tty."""

    kind = "serial"
    time_scale = 1.0
    boot_timeout = SERIAL_BOOT_TIMEOUT

    def __init__(self, target, build, log_dir=None, name="serial", verbose=None,
                 probe_timeout=PROBE_TIMEOUT, say=_say, **_ignored):
        self.target = target
        self.build = build
        self.log_dir = log_dir or os.path.join(build, "logs")
        self.name = name
        self.verbose = verbose
        self.probe_timeout = probe_timeout
        self.say = say
        os.makedirs(self.log_dir, exist_ok=True)
        self.serial_log = os.path.join(self.log_dir, name + ".log")
        self.host_log = self.serial_log
        self.console = None
        self.exit_info = None
        self.started_at = None
        self.detected_smp = None
        self.how = None                 # "reboot" or "power-cycle"
        self.proc = None

    def start(self):
        if os.path.exists(self.serial_log):
            os.unlink(self.serial_log)
        try:
            transport = open_tty(self.target.tty, self.target.baud)
        except (OSError, AttributeError) as e:
            raise MachineError("cannot open %s at %d baud: %s" % (self.target.tty,
                                                                 self.target.baud, e))
        self.started_at = time.monotonic()
        try:
            at_prompt = probe_prompt(transport, self.probe_timeout)
            if at_prompt:
                self.how = "reboot"
                self.say("%s: vigil is at its prompt; rebooting it for a fresh boot" %
                         self.target.tty)
                transport.write(b"reboot\r")
            else:
                # The probe's Ctrl-U CR dies with the machine's UART state at
                # the reset (QEMU's too); a late one only draws a prompt.
                self.how = "power-cycle"
                self.say("%s: no vigil prompt: power the machine on, or reset it, now "
                         "(waiting %.0fs for it to boot)" % (self.target.tty, self.boot_timeout))
        except EOFError:
            transport.close()
            raise MachineError("%s: the serial line went away" % self.target.tty)
        self.console = Console(transport, log_path=self.serial_log, time_scale=self.time_scale,
                               on_line=self.verbose)
        self.console.started_at = self.started_at
        self.console.note("%s (%s)" % (self.how, self.target.label))
        return self.console

    def wait_boot(self, timeout=None, progress=None):
        """The first prompt of the new boot; checks it is one (the banner)."""
        con = self.console
        lines = con.wait_boot(self.boot_timeout if timeout is None else timeout, progress)
        banners = [i for i, l in enumerate(lines) if BANNER_RE.search(l)]
        if not banners:
            raise MachineError("%s: a prompt, but no 'vigil ... booting' line before it: the "
                               "machine did not boot afresh (%s)" % (self.target.tty, self.how))
        # Drop the old kernel's last words (the echo of `reboot` and its log).
        first = 0
        for i in range(banners[-1]):
            if REBOOT_LINE_RE.search(lines[i]):
                first = i + 1
        con.boot_lines = lines[first:]
        for l in con.boot_lines:
            m = POSSIBLE_RE.search(l)
            if m:
                self.detected_smp = int(m.group(1))
        return con.boot_lines

    def alive(self):
        return self.console is not None and not self.console.closed

    def wait_exit(self, timeout):
        """The harness cannot see a real machine stop: always None."""
        return None

    def kill(self):
        """The watchdog: close the line so every wait ends."""
        if self.console is not None:
            self.console.closed = True

    def stop(self, grace=0):
        if self.console is not None:
            self.console.close()
            self.console.closed = True
        if self.exit_info is None:
            self.exit_info = ExitInfo(False, "left running (a machine on a serial line)")

    def host_log_tail(self, n=15):
        return ""

"""A Machine whose "emulator" is the FakeKernel thread (runner tests)."""

import os
import socket
import sys

import harnesspath  # noqa: F401
from harness.console import Console, SocketTransport
from harness.machine import ExitInfo, Machine

from fakekernel import FakeKernel

sys.path.insert(0, os.path.join(harnesspath.REPO, "tests", "scenarios"))
import _expect  # noqa: E402  (what the scenarios expect of the kernel today)


class FakeMachine(Machine):
    kind = "fake"
    time_scale = 1.0
    boot_timeout = 5.0

    def __init__(self, target, build, cmdline=None, kernel_args=None, **kw):
        super().__init__(target, build, cmdline=cmdline, **kw)
        self.kernel_args = dict(kernel_args or {})
        self.kernel = None

    def start(self):
        boot_log = ["vigil fake booting", "cmdline: %s" % (self.cmdline or "")]
        problems = ["cmdline: unknown parameter '%s'" % word.split("=")[0]
                    for word in (self.cmdline or "").split() if word.split("=")[0] not in ("console", "maxcpus")]
        # docs/console.md: at most 15 messages, then one summary line.
        if len(problems) > 15:
            problems = problems[:15] + ["cmdline: %d more problems not shown" % (len(problems) - 15)]
        boot_log += problems
        # As the real machines: OVMF's GOP always; under Bochs only the PCI
        # VGA offers GRUB a 32 bpp mode (the VGA BIOS has paletted ones only).
        if self.target.gfxpayload != "text" and (
                self.target.kind != "bochs"
                or any("pcivga" in line for line in self.target.rc_lines)):
            boot_log.append("fb: 1024x768 pitch 4096 at 0xfd000000")
        if self.target.acpi_tables:
            boot_log.append("acpi: warning: MADT: entry type 0 at offset 52 has length 0")
        args = dict(ncpus=self.target.smp, boot_log=boot_log,
                    aps_online=_expect.APS_ONLINE_AT_BOOT)
        args.update(self.kernel_args)
        self.kernel = FakeKernel(**args)
        host = self.kernel.start()
        self.console = Console(SocketTransport(host), log_path=self.serial_log,
                               time_scale=self.time_scale, on_line=self.verbose)
        return self.console

    def alive(self):
        return self.kernel is not None and self.kernel._thread.is_alive()

    def wait_exit(self, timeout):
        if self.kernel is None:
            return self.exit_info
        self.kernel.join(timeout)
        if self.kernel._thread.is_alive():
            return None
        if self.console is not None and not self.console.closed:
            self.console.drain(0.2)
        if self.exit_info is None:
            self.exit_info = self.exit_verdict(None)
        return self.exit_info

    def exit_verdict(self, returncode):
        if self.kernel.powered_off:
            return ExitInfo(True, "poweroff", 0)
        if self.kernel.panicked:
            return ExitInfo(False, "panic", 7)
        return ExitInfo(False, "stopped", None)

    def kill(self):
        if self.kernel is not None:
            self.kernel.stopped.set()
            try:
                self.kernel.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self, grace=3.0):
        self.kill()
        if self.exit_info is None and self.kernel is not None:
            self.exit_info = self.exit_verdict(None)
        self.cleanup()

"""The harness on a serial line: open_tty's raw mode, SerialMachine's probe,
reboot and power-cycle paths (against a fake kernel on the master side of a
pty, which is what a USB serial adapter looks like to the harness), the
real=True declaration and the serial plan."""

import os
import select
import termios
import threading
import time
import unittest

import harnesspath  # noqa: F401
from harness import cli
from harness.console import open_tty
from harness.machine import MachineError
from harness.runner import plan
from harness.scenario import Failure, Scenario, Session, scenario
from harness.serial import SerialMachine
from harness.targets import qemu, serial


class PtyKernel:
    """Just enough of vigil on the far end of a pty: a prompt, `version`,
    `reboot` (the old kernel's last words, then a new boot), and a machine
    that is off until power() is called."""

    def __init__(self, master, at_prompt=True, ncpus=3, reboot_works=True):
        self.fd = master
        self.on = at_prompt
        self.ncpus = ncpus
        self.reboot_works = reboot_works
        self.received = b""
        self.stop = threading.Event()
        self.booted = 0
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def out(self, text):
        os.write(self.fd, text.replace("\n", "\r\n").encode())

    def boot(self):
        self.booted += 1
        self.out("\x1b[2JBdsDxe: starting Boot0001\n")
        self.out("[    0.000000] vigil 0.1.0 (abcdef123456) booting on FakeCPU\n")
        self.out("[    0.100000] vigil: %d possible CPUs, %d online; console ready\n" % (
            self.ncpus, self.ncpus))
        self.out("vigil> ")

    def power(self):
        self.on = True
        self.boot()

    def run(self):
        line = b""
        while not self.stop.is_set():
            if not self.on:
                time.sleep(0.02)        # off: nobody reads the line
                continue
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self.fd, 1024)
            except OSError:
                return
            self.received += data
            for b in data:
                c = bytes([b])
                if c == b"\x15":
                    line = b""
                elif c == b"\r":
                    self.out("\n")
                    self.command(line.decode())
                    line = b""
                else:
                    line += c
                    self.out(c.decode())

    def command(self, line):
        if line == "":
            self.out("vigil> ")
        elif line == "version":
            self.out("version=0.1.0 commit=abcdef123456 arch=x86_64\nok\nvigil> ")
        elif line == "reboot":
            self.out("[    5.000000] reboot: virtualization disabled on %d CPUs\n" % self.ncpus)
            if self.reboot_works:
                self.boot()
            else:
                self.out("error: reset failed\nvigil> ")
        else:
            self.out("error: unknown command '%s' (try 'help')\nvigil> " % line.split()[0])


class SerialTest(unittest.TestCase):
    def setUp(self):
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self.slave = slave          # keep the pty alive until the harness opens it
        self.logs = "/tmp/vigil-test-serial-%d" % os.getpid()
        self.said = []
        self.kernel = None
        self.machine = None

    def tearDown(self):
        if self.machine is not None:
            self.machine.stop()
        if self.kernel is not None:
            self.kernel.stop.set()
            self.kernel.t.join(2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def make(self, **kw):
        self.kernel = PtyKernel(self.master, **kw)
        self.machine = SerialMachine(serial(self.path), "build", log_dir=self.logs,
                                     name="t", probe_timeout=1.0, say=self.said.append)
        return self.machine

    def test_open_tty_is_raw_8n1(self):
        t = open_tty(self.path, 115200)
        try:
            iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(t.rfd)
        finally:
            t.close()
        self.assertEqual(lflag & (termios.ECHO | termios.ICANON | termios.ISIG), 0)
        self.assertEqual(iflag & (termios.ICRNL | termios.IXON | termios.INLCR), 0)
        self.assertEqual(oflag & termios.OPOST, 0)
        self.assertEqual(cflag & termios.CSIZE, termios.CS8)
        self.assertEqual(cflag & (termios.PARENB | termios.CSTOPB | termios.CRTSCTS), 0)
        self.assertTrue(cflag & termios.CLOCAL and cflag & termios.CREAD)
        self.assertEqual((ispeed, ospeed), (termios.B115200, termios.B115200))
        self.assertEqual((cc[termios.VMIN], cc[termios.VTIME]), (0, 0))

    def test_open_tty_errors(self):
        with self.assertRaisesRegex(ValueError, "baud"):
            open_tty(self.path, 12345)
        with self.assertRaisesRegex(OSError, "not a tty"):
            open_tty("/dev/null", 115200)

    def test_reboot_when_at_prompt(self):
        m = self.make(at_prompt=True)
        con = m.start()
        lines = m.wait_boot(10)
        self.assertEqual(m.how, "reboot")
        self.assertIn(b"reboot\r", self.kernel.received)
        self.assertEqual(self.kernel.booted, 1)
        self.assertTrue(any("rebooting" in s for s in self.said), self.said)
        # The old kernel's last words are not part of the new boot log.
        self.assertFalse(any("reboot" in l for l in lines), lines)
        self.assertTrue(any("vigil 0.1.0 (abcdef123456) booting" in l for l in lines), lines)
        self.assertEqual(m.detected_smp, 3)
        self.assertEqual(con.cmd("version", timeout=5).get("arch"), "x86_64")

    def test_power_cycle_when_silent(self):
        m = self.make(at_prompt=False, ncpus=2)
        m.start()
        self.assertEqual(m.how, "power-cycle")
        self.assertTrue(any("power the machine on" in s for s in self.said), self.said)
        self.kernel.power()
        m.wait_boot(10)
        self.assertEqual(m.detected_smp, 2)
        # The fake kernel gets the unanswered probe late (a real machine's
        # UART is reset with it); the extra prompt must not confuse the console.
        self.assertEqual(m.console.cmd("version", timeout=5).get("arch"), "x86_64")
        self.assertEqual(m.console.cmd("version", timeout=5).status, "ok")

    def test_a_machine_that_did_not_reboot(self):
        m = self.make(at_prompt=True, reboot_works=False)
        m.start()
        with self.assertRaisesRegex(MachineError, "did not boot afresh"):
            m.wait_boot(10)

    def test_no_exit_on_a_serial_line(self):
        m = self.make(at_prompt=True)
        m.start()
        m.wait_boot(10)
        sc = Scenario(lambda s: None, "x", [qemu()], None, False, 10, None, "m", "p", real=True)
        s = Session(m, m.console, m.target, sc)
        self.assertEqual(s.smp, 3)
        with self.assertRaisesRegex(Failure, "cannot see it stop"):
            s.expect_exit()

    def test_missing_device(self):
        m = SerialMachine(serial("/dev/nonexistent-tty"), "build", log_dir=self.logs, name="t2")
        with self.assertRaisesRegex(MachineError, "cannot open /dev/nonexistent-tty"):
            m.start()


class PtyArgvTest(unittest.TestCase):
    def test_qemu_serial_pty(self):
        from harness import qemu as Q
        a = Q.qemu_argv(qemu(serial="pty", no_reboot=False), "/t/esp", "/t/vars.fd", "/t/q.sock",
                        serial_path="/t/serial.sock", serial_pty=True)
        i = a.index("-serial")
        self.assertEqual(a[i + 1], "pty")
        self.assertIn("-S", a)              # stopped until the harness has the pty open
        self.assertNotIn("-chardev", a)
        self.assertNotIn("-no-reboot", a)   # `reboot` resets the machine
        m = Q.PTY_RE.search(b"qemu: char device redirected to /dev/pts/7 (label serial0)\n")
        self.assertEqual(m.group(1), b"/dev/pts/7")

    def test_target_labels(self):
        self.assertEqual(qemu(serial="pty", disk="usb").label, "qemu smp=1 disk=usb serial=pty")
        with self.assertRaises(ValueError):
            qemu(disk="floppy")
        with self.assertRaises(ValueError):
            serial(None)


class PlanTest(unittest.TestCase):
    def scenarios(self):
        out = []
        for name, real, targets, shared in (("a", True, [qemu(), qemu(smp=4)], "g"),
                                            ("b", False, [qemu()], False),
                                            ("c", True, [qemu(smp=2)], False)):
            out.append(Scenario(lambda s: None, name, targets, None, shared, 10, None, "m", "p",
                                real=real))
        return out

    def test_serial_plan_runs_real_scenarios_once(self):
        t = serial("/dev/ttyUSB0")
        pairs, units = plan(self.scenarios(), serial=t)
        self.assertEqual([(sc.name, tt.label) for sc, tt in pairs],
                         [("a", "serial /dev/ttyUSB0"), ("c", "serial /dev/ttyUSB0")])
        self.assertEqual(len(units), 2)
        pairs, _ = plan(self.scenarios(), only=["c"], serial=t)
        self.assertEqual([sc.name for sc, _ in pairs], ["c"])

    def test_emulator_plan_unchanged(self):
        pairs, _ = plan(self.scenarios())
        self.assertEqual(len(pairs), 4)

    def test_real_with_cmdline_is_refused(self):
        with self.assertRaisesRegex(ValueError, "command line on its stick"):
            scenario(cmdline="maxcpus=1", real=True)(lambda s: None)

    def test_target_option(self):
        t, rest = cli.split_serial_targets(["serial:/dev/ttyS1"], 9600)
        self.assertEqual((t.kind, t.tty, t.baud, rest), ("serial", "/dev/ttyS1", 9600, []))
        self.assertEqual(t.slug, "serial-ttyS1")
        self.assertEqual(cli.split_serial_targets(["qemu"], 115200), (None, ["qemu"]))
        for bad in (["serial:"], ["serial:/a", "serial:/b"], ["serial:/a", "qemu"]):
            with self.assertRaises(SystemExit):
                cli.split_serial_targets(bad, 115200)

    def test_scenario_files_declare_real(self):
        from harness.scenario import load_scenarios
        scs = load_scenarios([os.path.join(harnesspath.REPO, "tests", "scenarios")])
        real = {sc.name for sc in scs if sc.real}
        self.assertTrue({"boot", "version", "cpus", "check", "selftest_errors"} <= real, real)
        # Anything that drives QMP or needs its own command line is not real.
        for sc in scs:
            if sc.real:
                self.assertIsNone(sc.cmdline, sc.name)
        self.assertNotIn("serial_line", real)
        self.assertNotIn("poweroff", real)


if __name__ == "__main__":
    unittest.main()

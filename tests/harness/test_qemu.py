"""QEMU: the command line, the per-run ESP, exit statuses."""

import os
import shutil
import tempfile
import unittest

import harnesspath  # noqa: F401
from harness import qemu as Q
from harness.machine import MachineError
from harness.targets import qemu


def opts(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


class ArgvTest(unittest.TestCase):
    def argv(self, target=None, **kw):
        return Q.qemu_argv(target or qemu(), "/t/esp", "/t/vars.fd", "/t/qmp.sock", **kw)

    def test_basics(self):
        a = self.argv(serial_path="/t/serial.sock")
        self.assertEqual(opts(a, "-machine"), ["q35"])
        self.assertEqual(opts(a, "-accel"), ["tcg"])
        self.assertEqual(opts(a, "-cpu"), ["max"])
        self.assertEqual(opts(a, "-smp"), ["1"])
        self.assertEqual(opts(a, "-m"), ["512M"])
        self.assertEqual(opts(a, "-display"), ["none"])
        self.assertEqual(opts(a, "-nic"), ["none"])
        self.assertIn("-no-reboot", a)
        self.assertIn("isa-debug-exit,iobase=0xf4,iosize=0x04", opts(a, "-device"))
        self.assertEqual(opts(a, "-qmp"), ["unix:/t/qmp.sock,server=on,wait=off"])
        drives = opts(a, "-drive")
        self.assertTrue(any(d.startswith("if=pflash") and "readonly=on" in d and
                            d.endswith(Q.OVMF_CODE) for d in drives), drives)
        self.assertIn("if=pflash,format=raw,unit=1,file=/t/vars.fd", drives)
        self.assertIn("if=none,id=esp,format=raw,readonly=on,file=fat:/t/esp", drives)
        self.assertIn("virtio-blk-pci,drive=esp,bootindex=0", opts(a, "-device"))
        self.assertEqual(opts(a, "-chardev"),
                         ["socket,id=vigil-serial,path=/t/serial.sock,server=on,wait=on"])
        self.assertEqual(opts(a, "-serial"), ["chardev:vigil-serial"])
        self.assertNotIn("-S", a)

    def test_target_options(self):
        t = qemu(smp=2, maxcpus=4, cpu="EPYC", mem="1G", args=["-global", "x.y=1"])
        a = self.argv(t, serial_path="/s")
        self.assertEqual(opts(a, "-smp"), ["2,maxcpus=4"])
        self.assertEqual(opts(a, "-cpu"), ["EPYC"])
        self.assertEqual(opts(a, "-m"), ["1G"])
        self.assertEqual(opts(a, "-global"), ["x.y=1"])

    def test_acpi_and_gdb(self):
        a = self.argv(serial_path="/s", acpi_files=["/t/a0.dat", "/t/a1.dat"], gdb=True)
        self.assertEqual(opts(a, "-acpitable"), ["file=/t/a0.dat", "file=/t/a1.dat"])
        self.assertEqual(a[-2:], ["-s", "-S"])

    def test_interactive(self):
        a = self.argv(stdio_log="/l/run.log")
        self.assertEqual(opts(a, "-chardev"),
                         ["stdio,id=vigil-con,mux=on,signal=off,logfile=/l/run.log"])
        self.assertEqual(opts(a, "-serial"), ["chardev:vigil-con"])
        self.assertEqual(opts(a, "-mon"), ["chardev=vigil-con,mode=readline"])

    def test_reboot_allowed(self):
        self.assertNotIn("-no-reboot", self.argv(qemu(no_reboot=False), serial_path="/s"))


class ExitTest(unittest.TestCase):
    def test_poweroff(self):
        info = Q.qemu_exit_info(0, "guest-shutdown", set())
        self.assertTrue(info.clean)
        self.assertTrue(Q.qemu_exit_info(0, None, set()).clean)

    def test_reset_is_not_clean(self):
        info = Q.qemu_exit_info(0, "guest-reset", set())
        self.assertFalse(info.clean)
        self.assertIn("triple fault", info.reason)

    def test_debug_exit(self):
        info = Q.qemu_exit_info(7, None, set())
        self.assertFalse(info.clean)
        self.assertIn("0x3", info.reason)
        self.assertTrue(Q.qemu_exit_info((0x10 << 1) | 1, None, {0x10}).clean)
        self.assertIn("QEMU error", Q.qemu_exit_info(1, None, set()).reason)

    def test_signal(self):
        self.assertFalse(Q.qemu_exit_info(-9, None, set()).clean)
        self.assertIsNone(Q.qemu_exit_info(None))


class S3WakeupTest(unittest.TestCase):
    """The S3 wake-up delay: QemuMachine keeps it and hands it to its QMP
    client; the command line's --s3-wakeup parses seconds or 'off'."""

    def test_machine_delay(self):
        class Q1:
            delay = "unset"

            def set_auto_wakeup(self, d):
                self.delay = d
        tmp = tempfile.mkdtemp(prefix="harness-test-")
        try:
            m = Q.QemuMachine(qemu(), tmp, log_dir=tmp)
            self.assertEqual(m.s3_wakeup, Q.DEFAULT_S3_WAKEUP)
            m.set_s3_wakeup(0.7)            # before QMP exists: kept for connect()
            self.assertEqual(m.s3_wakeup, 0.7)
            m.qmp = Q1()
            m.set_s3_wakeup(None)
            self.assertEqual((m.s3_wakeup, m.qmp.delay), (None, None))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_cli_option(self):
        from harness import cli
        p = cli.parser()
        self.assertEqual(p.parse_args(["exec", "version"]).s3_wakeup, Q.DEFAULT_S3_WAKEUP)
        self.assertEqual(p.parse_args(["exec", "--s3-wakeup", "2.5"]).s3_wakeup, 2.5)
        self.assertIsNone(p.parse_args(["run", "--s3-wakeup", "off"]).s3_wakeup)
        with self.assertRaises(SystemExit), open(os.devnull, "w") as null:
            import contextlib
            with contextlib.redirect_stderr(null):
                p.parse_args(["exec", "--s3-wakeup", "soon"])


class EspTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="harness-test-")
        self.src = os.path.join(self.tmp, "esp")
        for f in ("EFI/BOOT/BOOTX64.EFI", "vigil/vigil.elf", "vigil/cmdline.txt"):
            p = os.path.join(self.src, f)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as fh:
                fh.write("console=ttyS0" if f.endswith(".txt") else "x")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def read(self, path):
        with open(path) as f:
            return f.read()

    def test_cmdline_written_to_the_copy(self):
        dst = Q.prepare_esp(self.src, os.path.join(self.tmp, "a"), "bogus=1")
        self.assertEqual(self.read(os.path.join(dst, "vigil", "cmdline.txt")), "bogus=1")
        self.assertEqual(self.read(os.path.join(self.src, "vigil", "cmdline.txt")), "console=ttyS0")
        self.assertTrue(os.path.isfile(os.path.join(dst, "EFI", "BOOT", "BOOTX64.EFI")))

    def test_default_cmdline_kept(self):
        dst = Q.prepare_esp(self.src, os.path.join(self.tmp, "b"), None)
        self.assertEqual(self.read(os.path.join(dst, "vigil", "cmdline.txt")), "console=ttyS0")

    def test_not_an_esp(self):
        os.unlink(os.path.join(self.src, "EFI", "BOOT", "BOOTX64.EFI"))
        with self.assertRaises(MachineError) as cm:
            Q.prepare_esp(self.src, os.path.join(self.tmp, "c"), None)
        self.assertIn("BOOTX64.EFI", str(cm.exception))


if __name__ == "__main__":
    unittest.main()

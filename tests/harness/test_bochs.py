"""Bochs: the bochsrc generator, GRUB command lines, reading Bochs' log."""

import os
import shutil
import tempfile
import unittest

import harnesspath  # noqa: F401
from harness import bochs as B
from harness.machine import MachineError
from harness.targets import bochs


def rc_dict(text):
    """bochsrc text -> {directive: [values...]} (comments dropped)."""
    d = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition(":")
        d.setdefault(key.strip(), []).append(value.strip())
    return d


class BochsrcTest(unittest.TestCase):
    def rc(self, **kw):
        return rc_dict(B.bochsrc(bochs(**kw), "/x/vigil.iso", 40123, "/t/bochs.log"))

    def test_defaults(self):
        rc = self.rc()
        self.assertEqual(rc["cpu"], ["model=corei7_skylake_x, count=1, ips=%d, "
                                     "reset_on_triple_fault=0, ignore_bad_msrs=0" % B.DEFAULT_IPS])
        self.assertEqual(rc["memory"], ["guest=256, host=256"])
        self.assertEqual(rc["boot"], ["cdrom"])
        self.assertEqual(rc["ata0-master"], ["type=cdrom, path=/x/vigil.iso, status=inserted"])
        self.assertEqual(rc["com1"], ["enabled=1, mode=socket-server, dev=127.0.0.1:40123"])
        self.assertEqual(rc["clock"], ["sync=none, time0=local"])
        self.assertEqual(rc["log"], ["/t/bochs.log"])
        self.assertEqual(rc["panic"], ["action=fatal"])
        self.assertTrue(rc["romimage"][0].startswith("file=/"))
        self.assertTrue(rc["vgaromimage"][0].startswith("file=/"))
        # A display library that survives a graphics framebuffer.
        self.assertTrue(rc["display_library"][0].startswith("rfb"))

    def test_smp_model_memory(self):
        rc = self.rc(model="corei7_icelake_u", smp=4, mem=512, ips=10000000)
        self.assertTrue(rc["cpu"][0].startswith("model=corei7_icelake_u, count=4, ips=10000000,"))
        self.assertEqual(rc["memory"], ["guest=512, host=512"])

    def test_extra_lines(self):
        rc = self.rc(rc_lines=["cpuid: x2apic=1"])
        self.assertEqual(rc["cpuid"], ["x2apic=1"])

    def test_every_directive_once(self):
        text = B.bochsrc(bochs(smp=2), "/i.iso", 1, "/l")
        keys = [l.split(":")[0] for l in text.splitlines() if l and not l.startswith("#")]
        self.assertEqual(len(keys), len(set(keys)), keys)

    def test_debugger_rc(self):
        self.assertEqual(B.DEBUGGER_RC.split(), ["continue", "quit"])


GRUB_CFG = """serial --unit=0 --speed=115200
terminal_output serial console
set timeout=0
menuentry "vigil" {
\tmultiboot2 /boot/vigil.elf console=ttyS0
\t
\tboot
}
"""


class GrubCmdlineTest(unittest.TestCase):
    def test_args(self):
        self.assertEqual(B.grub_args(""), "")
        self.assertEqual(B.grub_args("bogus=1 maxcpus=2"), "bogus=1 maxcpus=2")
        self.assertEqual(B.grub_args("autorun=version;cpus"), "'autorun=version;cpus'")
        self.assertEqual(B.grub_args('autorun="vm create;vm list" x=1'),
                         "'autorun=vm create;vm list' x=1")
        self.assertEqual(B.grub_args("a=$HOME"), "'a=$HOME'")

    def test_unquotable(self):
        with self.assertRaises(MachineError):
            B.grub_args('a="it\'s"')
        with self.assertRaises(MachineError):
            B.grub_args('a="unterminated')

    def test_current(self):
        self.assertEqual(B.current_cmdline(GRUB_CFG), "console=ttyS0")
        self.assertEqual(B.current_cmdline(GRUB_CFG.encode()), "console=ttyS0")
        self.assertEqual(B.current_cmdline(GRUB_CFG.replace(" console=ttyS0", " ")), "")
        self.assertIsNone(B.current_cmdline("menuentry x {}"))

    def test_set(self):
        cfg = B.set_grub_cmdline(GRUB_CFG, "bogus=1 autorun=version;cpus")
        self.assertIn("\tmultiboot2 /boot/vigil.elf bogus=1 'autorun=version;cpus'\n", cfg)
        self.assertEqual(cfg.count("multiboot2"), 1)
        cfg = B.set_grub_cmdline(GRUB_CFG, "")
        self.assertIn("\tmultiboot2 /boot/vigil.elf\n", cfg)
        with self.assertRaises(MachineError):
            B.set_grub_cmdline("nothing here", "x=1")

    def test_gfxpayload(self):
        cfg = B.set_grub_gfxpayload(GRUB_CFG, "text")
        self.assertIn("\tmultiboot2 /boot/vigil.elf console=ttyS0\n\tset gfxpayload=text\n", cfg)
        self.assertEqual(B.current_gfxpayload(cfg), "text")
        cfg = B.set_grub_gfxpayload(cfg, "1024x768x32")
        self.assertEqual(cfg.count("set gfxpayload="), 1)
        self.assertEqual(B.current_gfxpayload(cfg), "1024x768x32")
        self.assertIsNone(B.current_gfxpayload(GRUB_CFG))

    @unittest.skipUnless(shutil.which("grub-mkrescue") and os.path.isdir("/usr/lib/grub/i386-pc"),
                         "grub-mkrescue not installed")
    def test_rebuild_iso(self):
        tmp = tempfile.mkdtemp(prefix="harness-test-")
        try:
            root = os.path.join(tmp, "root")
            os.makedirs(os.path.join(root, "boot", "grub"))
            with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
                f.write(GRUB_CFG)
            with open(os.path.join(root, "boot", "vigil.elf"), "wb") as f:
                f.write(b"\x7fELF fake")
            work = os.path.join(tmp, "work")
            os.makedirs(work)
            iso = B.rebuild_iso(root, work, "bogus=1", gfxpayload="text")
            with open(iso, "rb") as f:
                data = f.read()
            self.assertEqual(B.current_cmdline(data), "bogus=1")
            self.assertEqual(B.current_gfxpayload(data), "text")
            # The original tree is untouched.
            with open(os.path.join(root, "boot", "grub", "grub.cfg")) as f:
                self.assertEqual(f.read(), GRUB_CFG)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class ExitInfoTest(unittest.TestCase):
    def test_shutdown_port(self):
        log = ("00000000000i[      ] reading configuration\n"
               "00238591895p[UNMAP ] >>PANIC<< Shutdown port: shutdown requested\n"
               "00238591895i[SIM   ] quit_sim called with exit code 1\n")
        info = B.bochs_exit_info(log, 1)
        self.assertTrue(info.clean)
        self.assertEqual(info.reason, "poweroff (Shutdown port: shutdown requested)")

    def test_acpi_soft_off(self):
        info = B.bochs_exit_info("00012p[ACPI  ] >>PANIC<< ACPI control: soft power off\n", 1)
        self.assertTrue(info.clean)

    def test_triple_fault(self):
        log = "00254421321p[CPU0  ] >>PANIC<< exception(): 3rd (13) exception with no resolution\n"
        info = B.bochs_exit_info(log, 1)
        self.assertFalse(info.clean)
        self.assertIn("triple fault", info.reason)

    def test_other_panic(self):
        info = B.bochs_exit_info("0001p[BIOS  ] >>PANIC<< No bootable device.\n", 1)
        self.assertFalse(info.clean)
        self.assertEqual(info.reason, "Bochs panic: No bootable device.")

    def test_reported_panic_is_not_the_reason(self):
        # rfb=report: the display's panic is logged, Bochs goes on; the
        # fatal panic at the end is why it stopped.
        log = ("0001p[RFB   ] >>PANIC<< 32 bpp graphics mode not supported yet\n"
               "0009p[BIOS  ] >>PANIC<< No bootable device.\n")
        info = B.bochs_exit_info(log, 1)
        self.assertEqual(info.reason, "Bochs panic: No bootable device.")

    def test_nothing(self):
        info = B.bochs_exit_info(None, -9)
        self.assertFalse(info.clean)


if __name__ == "__main__":
    unittest.main()

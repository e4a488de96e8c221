"""The stick image: the GPT reader, the ESP lookup, per-run copies with
another command line (tools/harness/disk.py), and the QEMU drive options
for disk="usb"."""

import os
import shutil
import struct
import subprocess
import tempfile
import time
import unittest

import harnesspath  # noqa: F401
from harness import disk as D
from harness import qemu as Q
from harness.targets import qemu

HAVE_TOOLS = all(shutil.which(t) for t in ("sgdisk", "mformat", "mcopy", "mtype"))


def opts(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


@unittest.skipUnless(HAVE_TOOLS, "needs sgdisk (gdisk) and mtools")
class GptTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # sgdisk takes about a second: one template, copied for each test.
        cls.tmpl_dir = tempfile.mkdtemp(prefix="vigil-test-gpt-")
        cls.template = os.path.join(cls.tmpl_dir, "template.img")
        with open(cls.template, "wb") as f:
            f.truncate(48 << 20)
        # A Linux partition first, so the ESP is not simply entry 1.
        subprocess.run(["sgdisk", "--new=1:2048:+4096", "--typecode=1:8300",
                        "--new=2:8192:+73728", "--typecode=2:ef00", "--change-name=2:ESP",
                        cls.template], check=True, stdout=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmpl_dir, ignore_errors=True)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-test-disk-")
        self.img = os.path.join(self.tmp, "d.img")
        D.sparse_copy(self.template, self.img)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_partitions(self):
        parts = D.read_gpt(self.img)
        self.assertEqual([(p.index, p.first_lba, p.last_lba) for p in parts],
                         [(1, 2048, 6143), (2, 8192, 81919)])
        esp = D.find_esp(self.img)
        self.assertEqual((esp.index, esp.name, esp.offset, esp.size), (2, "ESP", 8192 * 512,
                                                                       73728 * 512))

    def corrupt(self, offset):
        with open(self.img, "r+b") as f:
            f.seek(offset)
            b = f.read(1)
            f.seek(offset)
            f.write(bytes([b[0] ^ 0xff]))

    def test_header_crc(self):
        self.corrupt(512 + 40)          # first usable LBA
        with self.assertRaisesRegex(D.DiskError, "header CRC"):
            D.read_gpt(self.img)

    def test_entries_crc(self):
        self.corrupt(1024 + 128 + 32)   # entry 2's first LBA
        with self.assertRaisesRegex(D.DiskError, "entry array CRC"):
            D.read_gpt(self.img)

    def test_no_gpt(self):
        self.corrupt(512)               # "EFI PART"
        with self.assertRaisesRegex(D.DiskError, "no GPT header"):
            D.read_gpt(self.img)

    def test_no_esp(self):
        subprocess.run(["sgdisk", "--typecode=2:8300", self.img], check=True,
                       stdout=subprocess.DEVNULL)
        with self.assertRaisesRegex(D.DiskError, "no EFI System Partition"):
            D.find_esp(self.img)

    def test_prepare_image_rewrites_cmdline(self):
        esp = D.find_esp(self.img)
        spec = "%s@@%d" % (self.img, esp.offset)
        subprocess.run(["mformat", "-i", spec, "-T", str(esp.size // 512), "-h", "64", "-s", "32",
                        "-H", str(esp.first_lba), "::"], check=True)
        subprocess.run(["mmd", "-i", spec, "::/vigil"], check=True)
        src = os.path.join(self.tmp, "cmdline.txt")
        with open(src, "w") as f:
            f.write("old")
        subprocess.run(["mcopy", "-i", spec, src, "::/vigil/cmdline.txt"], check=True)
        copy = os.path.join(self.tmp, "run.img")
        D.prepare_image(self.img, copy, "maxcpus=2 autorun=version")
        self.assertEqual(D.read_esp_file(copy, esp, "vigil/cmdline.txt"),
                         b"maxcpus=2 autorun=version")
        # The build's image is untouched, and None keeps its file.
        self.assertEqual(D.read_esp_file(self.img, esp, "vigil/cmdline.txt"), b"old")
        D.prepare_image(self.img, copy, None)
        self.assertEqual(D.read_esp_file(copy, esp, "vigil/cmdline.txt"), b"old")
        self.assertEqual(os.path.getsize(copy), os.path.getsize(self.img))

    def test_missing_image(self):
        with self.assertRaisesRegex(D.DiskError, "make image"):
            D.prepare_image(os.path.join(self.tmp, "nope.img"), os.path.join(self.tmp, "x"), None)


BUILT = os.path.join(harnesspath.REPO, "build", "vigil.img")


@unittest.skipUnless(HAVE_TOOLS and os.path.isfile(BUILT), "needs build/vigil.img (make image)")
class BuiltImageTest(unittest.TestCase):
    """What `make image` produced: a GPT whose only partition is a FAT32 ESP
    holding the loader at the removable-media path, the kernel and the
    command line file."""

    def test_layout(self):
        parts = D.read_gpt(BUILT)
        self.assertEqual(len(parts), 1)
        esp = D.find_esp(BUILT)
        self.assertEqual(esp.first_lba % 2048, 0)
        with open(BUILT, "rb") as f:
            f.seek(esp.offset)
            boot = f.read(512)
        self.assertEqual(boot[82:90], b"FAT32   ", "the ESP is FAT32")
        self.assertEqual(boot[510:512], b"\x55\xaa")
        self.assertEqual(struct.unpack_from("<I", boot, 32)[0], esp.size // 512,
                         "the FAT fills the partition")
        self.assertEqual(D.read_esp_file(BUILT, esp, "EFI/BOOT/BOOTX64.EFI")[:2], b"MZ")
        self.assertEqual(D.read_esp_file(BUILT, esp, "vigil/vigil.elf")[:4], b"\x7fELF")
        D.read_esp_file(BUILT, esp, "vigil/cmdline.txt")


class UsbArgvTest(unittest.TestCase):
    def test_usb_disk(self):
        a = Q.qemu_argv(qemu(disk="usb"), "/t/esp", "/t/vars.fd", "/t/qmp.sock",
                        serial_path="/s", image_path="/t/vigil.img")
        drives = opts(a, "-drive")
        self.assertIn("if=none,id=stick,format=raw,file=/t/vigil.img", drives)
        self.assertFalse(any("fat:" in d for d in drives), drives)
        self.assertIn("qemu-xhci,id=xhci", opts(a, "-device"))
        self.assertIn("usb-storage,bus=xhci.0,drive=stick,bootindex=0", opts(a, "-device"))

    def test_esp_disk_by_default(self):
        a = Q.qemu_argv(qemu(), "/t/esp", "/t/vars.fd", "/t/qmp.sock", serial_path="/s")
        self.assertIn("if=none,id=esp,format=raw,readonly=on,file=fat:/t/esp", opts(a, "-drive"))
        self.assertNotIn("usb-storage,bus=xhci.0,drive=stick,bootindex=0", opts(a, "-device"))


if __name__ == "__main__":
    unittest.main()


class UefiShellTest(unittest.TestCase):
    """OVMF starting its shell (nothing bootable on the disk) fails the boot
    at once, not after the boot timeout."""

    def console(self, text):
        import socket
        from harness.console import Console, SocketTransport
        a, b = socket.socketpair()
        b.sendall(text.encode())
        self.addCleanup(b.close)
        return Console(SocketTransport(a))

    def machine(self, con):
        m = Q.QemuMachine(qemu(disk="usb"), tempfile.gettempdir(), log_dir=tempfile.gettempdir(),
                          name="test-uefi-shell")
        m.console = con
        return m

    def test_shell_fails_fast(self):
        from harness.console import ConsoleError
        con = self.console('BdsDxe: failed to load Boot0001 "UEFI QEMU USB HARDDRIVE": Not Found\r\n'
                           'BdsDxe: loading Boot0002 "EFI Internal Shell" from Fv(...)\r\n'
                           'Shell> ')
        t0 = time.monotonic()
        with self.assertRaisesRegex(ConsoleError, "nothing to boot and started the UEFI shell"):
            self.machine(con).wait_boot(30)
        self.assertLess(time.monotonic() - t0, 10)

    def test_prompt_still_wins(self):
        con = self.console('BdsDxe: starting Boot0001 "UEFI QEMU USB HARDDRIVE"\r\n'
                           '[    0.000000] vigil 0.1.0 (abc) booting\r\nvigil> ')
        lines = self.machine(con).wait_boot(30)
        self.assertEqual(lines[-1], "[    0.000000] vigil 0.1.0 (abc) booting")

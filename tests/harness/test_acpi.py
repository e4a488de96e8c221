"""The deliberately malformed ACPI tables."""

import struct
import unittest

import harnesspath  # noqa: F401
from harness import acpi


class AcpiTest(unittest.TestCase):
    def test_table_checksum(self):
        t = acpi.table("TEST", b"hello")
        self.assertEqual(sum(t) & 0xFF, 0)
        self.assertEqual(acpi.parse_header(t)["length"], len(t))
        self.assertEqual(acpi.parse_header(t)["signature"], "TEST")
        bad = acpi.table("TEST", b"hello", good_checksum=False)
        self.assertNotEqual(sum(bad) & 0xFF, 0)

    def test_bad_madt(self):
        t = acpi.bad_madt()
        h = acpi.parse_header(t)
        self.assertEqual(h["signature"], "APIC")
        self.assertEqual(h["length"], len(t))
        self.assertEqual(sum(t) & 0xFF, 0)
        lapic_addr, flags = struct.unpack_from("<II", t, 36)
        self.assertEqual(lapic_addr, 0xFEE00000)
        off = acpi.MADT_FIRST_ENTRY
        self.assertEqual(t[off:off + 2], b"\x00\x08")        # a good LAPIC entry
        self.assertEqual(off + 8, 0x34)
        self.assertEqual(t[0x34 + 1], 0)                       # then length 0 at 0x34

    def test_overrun(self):
        t = acpi.madt_entry_overrun()
        self.assertGreater(0x34 + t[0x35], len(t))

    def test_spcr(self):
        # The offsets the kernel's SPCR parser reads (drivers/acpi/spcr.c).
        t = acpi.spcr(0x2f8)
        h = acpi.parse_header(t)
        self.assertEqual((h["signature"], h["length"], h["revision"]), ("SPCR", 80, 2))
        self.assertEqual(sum(t) & 0xFF, 0)
        self.assertEqual(t[36], 0)                                   # interface: 16550
        space, width, _, access, addr = struct.unpack_from("<BBBBQ", t, 40)
        self.assertEqual((space, width, access, addr), (acpi.GAS_IO, 8, 1, 0x2f8))
        self.assertEqual(t[58], 7)                                   # 115200 baud
        m = acpi.spcr(0xfe030000, space_id=acpi.GAS_MEMORY, bit_width=32, access_size=3)
        self.assertEqual(struct.unpack_from("<BBBBQ", m, 40), (0, 32, 0, 3, 0xfe030000))

    def test_signature_length(self):
        with self.assertRaises(ValueError):
            acpi.table("TOOLONG", b"")


if __name__ == "__main__":
    unittest.main()

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

    def test_signature_length(self):
        with self.assertRaises(ValueError):
            acpi.table("TOOLONG", b"")


if __name__ == "__main__":
    unittest.main()

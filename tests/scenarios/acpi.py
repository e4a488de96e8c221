"""Firmware tables the kernel must not trust.

QEMU appends -acpitable tables to the XSDT after its own and rewrites their
length and checksum, so the fault is structural: a second MADT ("APIC")
whose second interrupt-controller entry has length 0, at offset 0x34 (a
parser that trusts it never advances).  The kernel must report the table and
the fault in the boot log, for example

    [    0.012345] acpi: warning: MADT: entry type 0 at offset 52 has length 0

ignore that table, and still find the CPUs in QEMU's own MADT.
"""

from harness.scenario import scenario
from _targets import BAD_MADT

GROUPS = ("firmware",)


@scenario(targets=[BAD_MADT])
def acpi_bad_madt(s):
    s.boot_log_has(r"acpi: warning: MADT: entry type \d+ at offset 52 has length 0", "malformed MADT report")
    r = s.ok("cpus")
    s.eq(r.get("possible"), "2", "possible CPUs (from QEMU's valid MADT)")

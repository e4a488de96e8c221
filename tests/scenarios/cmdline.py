"""The kernel command line: unknown and malformed parameters are reported."""

from harness.scenario import scenario
from _targets import BOCHS_1, QEMU_1

GROUPS = ("smoke",)


@scenario(targets=[QEMU_1, BOCHS_1], cmdline="bogus=1")
def unknown_param(s):
    """cmdline 'bogus=1' (EFI: vigil/cmdline.txt; GRUB: the multiboot2 line)
    is reported at boot, and the boot carries on."""
    s.boot_log_has(r"unknown parameter 'bogus'", "unknown boot parameter")
    s.ok("version")

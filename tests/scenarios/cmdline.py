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


@scenario(targets=[QEMU_1], cmdline=" ".join("bad%d=1" % i for i in range(20)))
def too_many_problems_one_summary(s):
    """20 unknown parameters: 15 messages, then one summary line (the boot
    once printed a second one, '... more errors not shown')."""
    unknown = [l for l in s.boot_lines if "cmdline: unknown parameter" in l]
    summaries = [l for l in s.boot_lines if "not shown" in l]
    s.eq(len(unknown), 15, "unknown-parameter lines")
    s.eq(len(summaries), 1, "summary lines: %s" % summaries)
    s.check(summaries and summaries[0].endswith("cmdline: 5 more problems not shown"), "summary line",
            "\n".join(summaries))
    s.ok("version")

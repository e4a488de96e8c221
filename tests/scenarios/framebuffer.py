"""The graphics framebuffer path: GOP under OVMF, and VBE through GRUB
under QEMU with SeaBIOS.  The kernel logs the framebuffer it found and still
reaches the prompt (the serial console stays the protocol's console).

Not under Bochs: Debian's Bochs 2.7 with its VGA BIOS triple-faults inside
GRUB's VBE mode switch, before the kernel runs (the harness boots Bochs in
text mode for that reason)."""

from harness.scenario import scenario
from _targets import QEMU_1


@scenario(targets=[QEMU_1])
def framebuffer(s):
    s.boot_log_has(r"\bfb: \d+x\d+", "framebuffer report")
    s.ok("version")

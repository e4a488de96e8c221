"""The graphics framebuffer path: GOP under OVMF, VBE through GRUB under
Bochs.  The kernel logs the framebuffer it found and still reaches the
prompt (the serial console stays the protocol's console)."""

from harness.scenario import bochs, scenario
from _expect import QEMU_1

# The ISO as built: GRUB sets up the framebuffer the kernel's Multiboot2
# header asks for.
BOCHS_FB = bochs(model="corei7_skylake_x", smp=1)


@scenario(targets=[QEMU_1, BOCHS_FB])
def framebuffer(s):
    s.boot_log_has(r"\bfb: \d+x\d+", "framebuffer report")
    s.ok("version")

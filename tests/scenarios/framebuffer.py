"""The graphics framebuffer path: GOP under OVMF, and GRUB's image as built
(no gfxpayload override) under Bochs, where GRUB drives the display itself.

Bochs with its VGA BIOS (the harness's default machine) offers GRUB only
paletted VBE modes (640x480x8 and smaller).  GRUB 2.06 sizes the Multiboot2
information buffer for an RGB framebuffer tag, so a paletted mode's 256
colour entries overflow it and GRUB crashes before the kernel runs (a triple
fault with IDT.limit 0).  grub.cfg therefore lists only 32 bpp modes, then
text: the plain Bochs machine boots the image in text mode
(bochs_image_as_built), and a Bochs machine with the PCI VGA device, whose
registers GRUB's bochs video driver programs directly, boots it in
1024x768x32 and the kernel draws on it (framebuffer).  The RFB display
library cannot show 32 bpp; that is only reported, not fatal."""

from harness.scenario import scenario
from _targets import BOCHS_2_PLAIN, BOCHS_PCI_VGA, QEMU_1

@scenario(targets=[QEMU_1, BOCHS_PCI_VGA])
def framebuffer(s):
    s.boot_log_has(r"\bfb: \d+x\d+ pitch", "framebuffer report")
    s.ok("version")


@scenario(targets=[BOCHS_2_PLAIN])
def bochs_image_as_built(s):
    """The ISO exactly as `make iso` builds it, on the VGA BIOS that offers
    only paletted modes: GRUB must not pick one (it crashed there)."""
    fb = [l for l in s.boot_lines if "] fb: " in l]
    s.check(not fb, "a framebuffer on a VBE BIOS without 32 bpp modes: %s" % fb)
    s.ok("version")
    s.ok("check")

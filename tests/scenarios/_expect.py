"""What the scenarios expect of the kernel right now.  Change these as the
kernel grows; the scenarios read them (files starting with '_' are not
scenario files)."""

from harness.scenario import bochs, qemu

# After boot, are the application processors online?  False while the kernel
# only brings up the boot CPU; True once SMP bring-up lands (then `cpus` must
# say online=N possible=N).
APS_ONLINE_AT_BOOT = True

# Commands `help` must list (the first word of a synopsis line).  Extend as
# commands land; console-protocol.md has the full set:
#   help version cpus cpu virt vm suspend check inject stress lockdep selftest
#   bench poweroff reboot
HELP_REQUIRED = ["help", "version", "cpus", "check", "poweroff"]

# GRUB's gfxpayload for the Bochs targets: None boots the ISO as `make iso`
# built it (grub.cfg: a 32 bpp mode if the display offers one, else VGA
# text; the harness's default Bochs display offers none), "text" rebuilds
# it in text mode.  framebuffer.py boots Bochs with a 32 bpp display.
BOCHS_GFXPAYLOAD = None

# The targets most scenarios use.
QEMU_1 = qemu(smp=1)
QEMU_4 = qemu(smp=4)
BOCHS_1 = bochs(model="corei7_skylake_x", smp=1, gfxpayload=BOCHS_GFXPAYLOAD)
BOCHS_2 = bochs(model="corei7_skylake_x", smp=2, gfxpayload=BOCHS_GFXPAYLOAD)


def expected_online(smp):
    return smp if APS_ONLINE_AT_BOOT else 1

"""What the scenarios expect of the kernel right now.  Change these as the
kernel grows; the scenarios read them (files starting with '_' are not
scenario files)."""

# The targets live in _targets.py; these names stay importable from here.
from _targets import BOCHS_1, BOCHS_2, BOCHS_GFXPAYLOAD, QEMU_1, QEMU_4  # noqa: F401

# After boot, are the application processors online?  False while the kernel
# only brings up the boot CPU; True once SMP bring-up lands (then `cpus` must
# say online=N possible=N).
APS_ONLINE_AT_BOOT = True

# Commands `help` must list (the first word of a synopsis line).  Extend as
# commands land; docs/console.md has the full set:
#   help version cpus cpu virt vm suspend check inject stress lockdep selftest
#   bench poweroff reboot
HELP_REQUIRED = ["help", "version", "cpus", "check", "poweroff"]


def expected_online(smp):
    return smp if APS_ONLINE_AT_BOOT else 1

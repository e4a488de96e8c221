"""Power off: the machine stops cleanly (QEMU: ACPI S5, exit status 0 or the
debug-exit success code; Bochs: the 'Shutdown' port)."""

from harness.scenario import scenario
from _targets import BOCHS_1, QEMU_1, QEMU_4


@scenario(targets=[QEMU_1, QEMU_4, BOCHS_1])
def poweroff(s):
    info = s.poweroff()
    s.note("stopped: %s" % info.reason)

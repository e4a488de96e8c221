"""Every machine the scenarios boot, in one place (files starting with '_'
are not scenario files).  A scenario file imports the targets it runs on from
here, so a new CPU model or a changed memory size is one edit, and the set of
machines the suite covers can be read at a glance.

Selection groups (`harness.py check --group NAME`, docs/harness.md) are not
defined here: each scenario is in the group of its file's name, plus the
groups its file lists in a module-level GROUPS tuple.
"""

from harness import acpi as acpi_tables
from harness.scenario import bochs, qemu

# GRUB's gfxpayload for the Bochs targets: "text" keeps VGA text mode (no
# framebuffer for the kernel; the harness rebuilds the ISO with it), None
# boots the ISO as built (a graphics framebuffer).  framebuffer.py always
# tests the graphics path on Bochs, so the others can stay in text mode.
BOCHS_GFXPAYLOAD = "text"

# QEMU q35 + OVMF, -cpu max (SVM under TCG).
QEMU_1 = qemu(smp=1)
QEMU_2 = qemu(smp=2)
QEMU_4 = qemu(smp=4)
QEMU_8 = qemu(smp=8)
QEMU_16 = qemu(smp=16)
# The same machines, named for what the virtualization scenarios need of them:
# QEMU's -cpu max offers SVM under TCG.
QEMU_SVM2 = QEMU_2
QEMU_SVM4 = QEMU_4
QEMU_SVM8 = QEMU_8

# QEMU AMD models: the SVM compatibility check against other CPUID layouts.
QEMU_AMD_MODELS = [qemu(smp=2, cpu="EPYC"), qemu(smp=2, cpu="EPYC-Milan"),
                   qemu(smp=2, cpu="Opteron_G5")]

# QEMU without ACPI S3 (the FADT/DSDT offer no \_S3).
NO_S3_1 = qemu(smp=1, args=("-global", "ICH9-LPC.disable_s3=1"))
NO_S3_2 = qemu(smp=2, args=("-global", "ICH9-LPC.disable_s3=1"))

# QEMU with a malformed MADT added to the ACPI tables.
BAD_MADT = qemu(smp=2, acpi_tables=[acpi_tables.bad_madt()])

# Bochs (GRUB ISO): VMX on Intel models, SVM on "ryzen".
BOCHS_1 = bochs(model="corei7_skylake_x", smp=1, gfxpayload=BOCHS_GFXPAYLOAD)
BOCHS_2 = bochs(model="corei7_skylake_x", smp=2, gfxpayload=BOCHS_GFXPAYLOAD)
BOCHS_VMX4 = bochs(model="corei7_skylake_x", smp=4, gfxpayload=BOCHS_GFXPAYLOAD)
BOCHS_VMX_MODELS = [bochs(model=m, smp=2, gfxpayload=BOCHS_GFXPAYLOAD)
                    for m in ("corei7_skylake_x", "corei7_icelake_u", "corei7_haswell_4770")]
BOCHS_SVM = [bochs(model="ryzen", smp=2, gfxpayload=BOCHS_GFXPAYLOAD)]

# QEMU with little memory: stress runs into out-of-memory on purpose.
QEMU_SVM4_128M = qemu(smp=4, cpu="max", mem="128M")

# The USB stick image (build/vigil.img) booted as a USB disk, no fat: drive.
USB_1 = qemu(smp=1, disk="usb")
USB_2 = qemu(smp=2, disk="usb")
# The stick again, its console on a pty as on a real serial line.  Rebooting
# needs QEMU to reset, not to exit (no -no-reboot).
PTY = qemu(smp=2, disk="usb", serial="pty", no_reboot=False)

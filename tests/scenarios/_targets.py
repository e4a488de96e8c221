"""Every machine the scenarios boot, in one place (files starting with '_'
are not scenario files).  A scenario file imports the targets it runs on from
here, so a new CPU model or a changed memory size is one edit, and the set of
machines the suite covers can be read at a glance.

Selection groups (`harness.py check --group NAME`, docs/harness.md) are not
defined here: each scenario is in the group of its file's name, plus the
groups its file lists in a module-level GROUPS tuple.
"""

import os
import tempfile

from harness import acpi as acpi_tables
from harness.scenario import bochs, qemu

# GRUB's gfxpayload for the Bochs targets: None boots the ISO as `make iso`
# built it (grub.cfg: a 32 bpp mode if the display offers one, else VGA
# text; the harness's default Bochs display offers none), "text" rebuilds
# it in text mode.  framebuffer.py boots Bochs with a 32 bpp display.
BOCHS_GFXPAYLOAD = None

# QEMU q35 + OVMF, -cpu max (SVM under TCG).
QEMU_1 = qemu(smp=1)
QEMU_2 = qemu(smp=2)
QEMU_4 = qemu(smp=4)
QEMU_8 = qemu(smp=8)
QEMU_16 = qemu(smp=16)
# The most CPUs QEMU 7.2 runs under TCG (APIC IDs 0-254).
QEMU_255 = qemu(smp=255)
# The same machines, named for what the virtualization scenarios need of them:
# QEMU's -cpu max offers SVM under TCG.
QEMU_SVM2 = QEMU_2
QEMU_SVM4 = QEMU_4
QEMU_SVM8 = QEMU_8

# Every CPU model vigil supports gets one boot of the virtualization life cycle
# (README "Supported CPU models"), and the topologies of note (QEMU -smp 1, 2
# sockets, 2 threads per core, 64 CPUs).  A later -smp merges into the
# harness's, so "-smp 6,sockets=2" only adds the topology.
QEMU_SVM_LIFECYCLE = (
    [QEMU_SVM4]
    + [qemu(smp=2, cpu=m) for m in ("EPYC", "EPYC-Rome", "EPYC-Milan", "Opteron_G4",
                                    "Opteron_G5", "phenom", "Dhyana", "Opteron_G1,+svm,+npt")]
    + [qemu(smp=1, cpu="max"),
       qemu(smp=6, cpu="max", args=("-smp", "6,sockets=2")),
       qemu(smp=4, cpu="EPYC", args=("-smp", "4,threads=2")),
       qemu(smp=64, cpu="max")])

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
                    for m in ("corei7_skylake_x", "corei7_icelake_u", "corei7_haswell_4770",
                              "corei7_sandy_bridge_2600k", "corei7_ivy_bridge_3770k",
                              "broadwell_ult", "corei3_cnl", "tigerlake", "corei5_arrandale_m520")]
BOCHS_SVM = [bochs(model=m, smp=2, gfxpayload=BOCHS_GFXPAYLOAD)
             for m in ("ryzen", "trinity_apu", "zambezi", "phenom_8650_toliman")]
# Bochs as the harness configures it by default, the ISO as built: its VGA
# BIOS offers GRUB only paletted modes, so GRUB must fall back to text.
BOCHS_2_PLAIN = bochs(model="corei7_skylake_x", smp=2)
# The Bochs display with a 32 bpp mode: the PCI VGA (vendor 1234:1111, the
# device GRUB's video_bochs knows), and RFB's "32 bpp not supported"
# display panic downgraded to a report.
BOCHS_PCI_VGA = bochs(model="corei7_skylake_x", smp=1,
                      rc_lines=("pci: enabled=1, chipset=i440fx, slot1=pcivga",
                                "panic: action=fatal, rfb=report"))


def refused_target(kind, model):
    """One CPU of a model without usable virtualization (virt.py's refusals)."""
    return qemu(smp=1, cpu=model) if kind == "qemu" else bochs(model=model, smp=1)

# QEMU with little memory: stress runs into out-of-memory on purpose.
QEMU_SVM4_128M = qemu(smp=4, cpu="max", mem="128M")

# The USB stick image (build/vigil.img) booted as a USB disk, no fat: drive.
USB_1 = qemu(smp=1, disk="usb")
USB_2 = qemu(smp=2, disk="usb")
# The stick again, its console on a pty as on a real serial line.  Rebooting
# needs QEMU to reset, not to exit (no -no-reboot).
PTY = qemu(smp=2, disk="usb", serial="pty", no_reboot=False)

# QEMU with room for CPU hot-add: 2 CPUs present, 4 possible (QMP device_add).
HOTPLUG = qemu(smp=2, maxcpus=4)

# The console the ACPI SPCR table names (serial_console.py).  A second UART
# writes to a file so a scenario can read what went to the other port.
_TMP = tempfile.gettempdir()
COM1_FILE = os.path.join(_TMP, "vigil-spcr-com1-%d.log" % os.getpid())
COM2_FILE = os.path.join(_TMP, "vigil-spcr-com2-%d.log" % os.getpid())

# The harness on COM2 (0x2f8), a file on COM1, the SPCR naming COM2.
SPCR_COM2 = qemu(smp=1, acpi_tables=[acpi_tables.spcr(0x2f8)], args=(
    "-global", "isa-serial.iobase=0x2f8",
    "-chardev", "file,id=com1file,path=%s" % COM1_FILE,
    "-device", "isa-serial,iobase=0x3f8,chardev=com1file"))
# The harness on COM1 as usual, a file on COM2, the SPCR naming COM2.
SPCR_COM2_FILE = qemu(smp=1, acpi_tables=[acpi_tables.spcr(0x2f8)], args=(
    "-chardev", "file,id=com2file,path=%s" % COM2_FILE,
    "-device", "isa-serial,iobase=0x2f8,chardev=com2file"))
# The SPCR naming a port where nothing answers, and MMIO inside usable RAM.
SPCR_ABSENT = qemu(smp=1, acpi_tables=[acpi_tables.spcr(0x2e8)])
SPCR_MMIO_IN_RAM = qemu(smp=1, acpi_tables=[acpi_tables.spcr(
    0x1000000, space_id=acpi_tables.GAS_MEMORY, bit_width=32, access_size=3)])

# Two memory sizes for vm_capacity.py: how many VMs fit must follow the RAM.
QEMU_SVM2_128M = qemu(smp=2, cpu="max", mem="128M")
QEMU_SVM2_512M = qemu(smp=2, cpu="max", mem="512M")

# SVM's live vCPUs (svm_live.py): -cpu max and an EPYC model with SVM asked
# for, 2 CPUs so that a vCPU can migrate.
QEMU_SVM_LIVE = [qemu(smp=2, cpu="max"), qemu(smp=2, cpu="EPYC,+svm")]

"""Targets: which emulator, how many CPUs, which CPU model.

A scenario lists the targets it runs on:

    qemu()                                  q35 + OVMF, -cpu max, 1 CPU, 512M
    qemu(smp=4)                             4 CPUs
    qemu(smp=2, maxcpus=4, cpu="EPYC")      room for 2 hot-added CPUs, AMD model
    qemu(acpi_tables=[table_bytes])         extra ACPI tables (-acpitable)
    qemu(disk="usb")                        boot BUILD/vigil.img as a USB stick
    qemu(serial="pty", no_reboot=False)     the console on a pty, opened like a
                                            USB serial adapter (termios raw)
    serial("/dev/ttyUSB0", baud=115200)     a real machine on a serial line
    bochs(model="corei7_skylake_x", smp=2)  GRUB ISO under Bochs
    bochs(smp=1, gfxpayload="text")         ...with GRUB left in VGA text mode

The label ("qemu smp=4", "bochs corei7_skylake_x smp=2") appears in reports;
the slug ("qemu-smp4") in log file names.
"""

import os

DEFAULT_QEMU_CPU = "max"
DEFAULT_QEMU_MEM = "512M"
DEFAULT_BOCHS_MODEL = "corei7_skylake_x"
DEFAULT_BOCHS_MEM = 256


class Target:
    def __init__(self, kind, smp=1, cpu=None, mem=None, maxcpus=None, args=(), acpi_tables=(),
                 no_reboot=True, accel="tcg", ips=None, rc_lines=(), gfxpayload=None,
                 disk="esp", serial="socket", tty=None, baud=115200):
        if kind not in ("qemu", "bochs", "fake", "serial"):
            raise ValueError("unknown target kind %r" % kind)
        if int(smp) < 1:
            raise ValueError("smp must be >= 1")
        self.kind = kind
        self.smp = int(smp)
        self.cpu = cpu or (DEFAULT_BOCHS_MODEL if kind == "bochs" else DEFAULT_QEMU_CPU)
        self.mem = mem or (DEFAULT_BOCHS_MEM if kind == "bochs" else DEFAULT_QEMU_MEM)
        self.maxcpus = maxcpus
        self.args = tuple(args)                  # extra emulator arguments (QEMU)
        self.acpi_tables = tuple(acpi_tables)    # bytes, one table each (QEMU)
        self.no_reboot = no_reboot
        self.accel = accel
        self.ips = ips                           # Bochs instructions per emulated second
        self.rc_lines = tuple(rc_lines)          # extra bochsrc lines
        self.gfxpayload = gfxpayload             # GRUB gfxpayload (Bochs), e.g. "text"
        self.disk = disk                         # QEMU: "esp" (fat: drive) or "usb" (vigil.img)
        self.serial = serial                     # QEMU: "socket" or "pty"
        self.tty = tty                           # serial: the device (/dev/ttyUSB0)
        self.baud = int(baud)
        if disk not in ("esp", "usb"):
            raise ValueError("disk must be 'esp' or 'usb', not %r" % (disk,))
        if serial not in ("socket", "pty"):
            raise ValueError("serial must be 'socket' or 'pty', not %r" % (serial,))
        if kind != "qemu" and (disk != "esp" or serial != "socket"):
            raise ValueError("disk/serial are QEMU options")
        if kind == "serial" and not tty:
            raise ValueError("a serial target needs its tty")
        if kind == "bochs" and (self.args or self.acpi_tables):
            raise ValueError("args/acpi_tables are QEMU options")
        if kind != "bochs" and gfxpayload:
            raise ValueError("gfxpayload is a Bochs (GRUB) option")

    @property
    def label(self):
        if self.kind == "serial":
            return "serial %s" % self.tty
        parts = [self.kind]
        if self.kind == "bochs":
            parts.append(self.cpu)
        parts.append("smp=%d" % self.smp)
        if self.maxcpus:
            parts.append("maxcpus=%d" % self.maxcpus)
        if self.kind == "qemu" and self.cpu != DEFAULT_QEMU_CPU:
            parts.append("cpu=%s" % self.cpu)
        if self.accel != "tcg":
            parts.append(self.accel)
        if self.acpi_tables:
            parts.append("+acpi")
        if self.gfxpayload:
            parts.append("gfx=%s" % self.gfxpayload)
        if self.disk != "esp":
            parts.append("disk=%s" % self.disk)
        if self.serial != "socket":
            parts.append("serial=%s" % self.serial)
        return " ".join(parts)

    @property
    def slug(self):
        if self.kind == "serial":
            return "serial-%s" % _safe(os.path.basename(self.tty))
        parts = [self.kind]
        if self.kind == "bochs" or self.cpu != DEFAULT_QEMU_CPU:
            parts.append(_safe(self.cpu))
        parts.append("smp%d" % self.smp)
        if self.maxcpus:
            parts.append("max%d" % self.maxcpus)
        if self.accel != "tcg":
            parts.append(_safe(self.accel))
        if self.gfxpayload:
            parts.append(_safe(self.gfxpayload))
        if self.disk != "esp":
            parts.append(self.disk)
        if self.serial != "socket":
            parts.append(self.serial)
        return "-".join(parts)

    def key(self):
        """Two targets with equal keys boot identical machines."""
        return (self.kind, self.smp, self.cpu, str(self.mem), self.maxcpus, self.args,
                self.acpi_tables, self.no_reboot, self.accel, self.ips, self.rc_lines,
                self.gfxpayload, self.disk, self.serial, self.tty, self.baud)

    def __eq__(self, other):
        return isinstance(other, Target) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def __repr__(self):
        return "<Target %s>" % self.label

    def with_(self, **kw):
        d = dict(kind=self.kind, smp=self.smp, cpu=self.cpu, mem=self.mem, maxcpus=self.maxcpus,
                 args=self.args, acpi_tables=self.acpi_tables, no_reboot=self.no_reboot,
                 accel=self.accel, ips=self.ips, rc_lines=self.rc_lines,
                 gfxpayload=self.gfxpayload, disk=self.disk, serial=self.serial, tty=self.tty,
                 baud=self.baud)
        d.update(kw)
        return Target(**d)


def kvm_variant(t):
    """The QEMU/KVM target that stands for t under `--accel kvm`: same CPUs,
    memory and QEMU extras, -cpu host (KVM passes the host's VMX or SVM
    through; a named model would hide features the host has).  A Bochs
    target becomes a QEMU one with the same CPU count."""
    if t.kind == "qemu":
        return t.with_(accel="kvm", cpu="host")
    return Target("qemu", smp=t.smp, cpu="host", accel="kvm")


def _safe(s):
    return "".join(c if c.isalnum() or c in "_." else "_" for c in s)


def qemu(smp=1, cpu=None, mem=None, maxcpus=None, args=(), acpi_tables=(), no_reboot=True,
         accel="tcg", disk="esp", serial="socket"):
    """disk="usb": boot BUILD/vigil.img on a USB stick (xHCI) instead of the
    fat: ESP drive.  serial="pty": the console on a pty that the harness
    opens with termios exactly like a USB serial adapter (open_tty)."""
    return Target("qemu", smp=smp, cpu=cpu, mem=mem, maxcpus=maxcpus, args=args,
                  acpi_tables=acpi_tables, no_reboot=no_reboot, accel=accel, disk=disk,
                  serial=serial)


def bochs(model=None, smp=1, mem=None, ips=None, rc_lines=(), gfxpayload=None):
    """gfxpayload="text": GRUB keeps VGA text mode (no framebuffer for the
    kernel); default: what the ISO was built with."""
    return Target("bochs", smp=smp, cpu=model, mem=mem, ips=ips, rc_lines=rc_lines,
                  gfxpayload=gfxpayload)


def serial(tty, baud=115200):
    """A machine (real, or anything else) whose console is on this serial
    device.  Its CPU count is what its `cpus` command says."""
    return Target("serial", tty=tty, baud=baud, cpu="real")


def fake(smp=1, cpu="fake"):
    """The in-process fake kernel of the harness self-tests."""
    return Target("fake", smp=smp, cpu=cpu)

"""QEMU: q35, OVMF, TCG, the ESP as a read-only FAT drive (or the stick image
BUILD/vigil.img on a USB disk: target disk="usb").

Per run, in a temp dir: a copy of BUILD/esp (or of vigil.img) with its own
vigil/cmdline.txt, a copy of OVMF_VARS, the serial socket (or a pty: target
serial="pty"), the QMP socket and any extra ACPI tables.  Exit status:

  0               the guest powered off (ACPI S5)... or reset under -no-reboot:
                  the QMP SHUTDOWN event's reason tells them apart
  (v << 1) | 1    the guest wrote v to isa-debug-exit (port 0xf4): a panic,
                  unless v is one of DEBUG_EXIT_OK (a success code)
  < 0             killed by a signal (by the harness, on timeout)
"""

import os
import re
import shutil
import time

from . import disk as disk_mod
from .console import ConsoleError, SocketTransport, open_tty
from .machine import ExitInfo, Machine, MachineError
from .qmp import QMP, QMPError, connect_unix

QEMU = os.environ.get("VIGIL_QEMU", "qemu-system-x86_64")
OVMF_CODE = os.environ.get("VIGIL_OVMF_CODE", "/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = os.environ.get("VIGIL_OVMF_VARS", "/usr/share/OVMF/OVMF_VARS_4M.fd")
DEBUG_EXIT_IOBASE = 0xf4

# Seconds from QEMU's SUSPEND event (the guest entered ACPI S3) to the
# harness's QMP system_wakeup, unless a scenario says otherwise
# (@scenario(s3_wakeup=...)); None leaves a suspended guest asleep.
DEFAULT_S3_WAKEUP = 0.1

# isa-debug-exit values that mean success (the kernel may write one on a clean
# poweroff under QEMU instead of, or before, ACPI S5).  Set with
# --debug-exit-ok or VIGIL_DEBUG_EXIT_OK="0x10,0x11".
DEBUG_EXIT_OK = set()
for _v in os.environ.get("VIGIL_DEBUG_EXIT_OK", "").replace(",", " ").split():
    DEBUG_EXIT_OK.add(int(_v, 0))


def esp_files(esp):
    """The files a bootable ESP must have (relative paths)."""
    return ["EFI/BOOT/BOOTX64.EFI", "vigil/vigil.elf"]


def check_esp(esp):
    missing = [f for f in esp_files(esp) if not os.path.isfile(os.path.join(esp, f))]
    if not os.path.isdir(esp) or missing:
        raise MachineError("%s is not a bootable ESP (missing %s): run 'make'" % (
            esp, ", ".join(missing) or esp))


def prepare_esp(src, dst, cmdline):
    """Copy the ESP tree and write the kernel command line into the copy.
    cmdline None keeps the build's vigil/cmdline.txt; bytes are written as
    they are (a scenario testing a bad file: NUL, non-ASCII, too long)."""
    check_esp(src)
    shutil.copytree(src, dst, symlinks=False)
    if cmdline is not None:
        os.makedirs(os.path.join(dst, "vigil"), exist_ok=True)
        data = cmdline if isinstance(cmdline, bytes) else cmdline.encode()
        with open(os.path.join(dst, "vigil", "cmdline.txt"), "wb") as f:
            f.write(data)
    return dst


# OVMF's boot manager falls back to its built-in shell when no boot option
# worked (no loader on the disk, a broken partition table).
UEFI_SHELL_RE = re.compile(r'BdsDxe: (?:loading|starting) Boot\w+ "EFI Internal Shell"')

# What QEMU prints on stdout for -serial pty (chardev/char-pty.c).
PTY_RE = re.compile(rb"char device redirected to (/dev/\S+) \(label ([^)]*)\)")


def disk_args(target, esp_dir, image_path=None):
    """The boot disk: the ESP tree as a read-only FAT view, or the stick image
    on a USB mass-storage device behind an xHCI controller (what OVMF sees
    when a stick is plugged into a real machine)."""
    if target.disk == "usb":
        return ["-device", "qemu-xhci,id=xhci",
                "-drive", "if=none,id=stick,format=raw,file=%s" % image_path,
                "-device", "usb-storage,bus=xhci.0,drive=stick,bootindex=0"]
    # Read-only FAT view of the per-run ESP copy.  The IDE/AHCI disk
    # refuses read-only drives, virtio-blk does not (OVMF boots it).
    return ["-drive", "if=none,id=esp,format=raw,readonly=on,file=fat:%s" % esp_dir,
            "-device", "virtio-blk-pci,drive=esp,bootindex=0"]


def qemu_argv(target, esp_dir, vars_path, qmp_path, serial_path=None, stdio_log=None,
              acpi_files=(), gdb=False, binary=None, ovmf_code=None, image_path=None,
              serial_pty=False):
    """The QEMU command line.  serial_path: the serial console on a unix socket
    the harness connects to (QEMU waits for it); serial_pty: on a pty (QEMU
    prints its name; the guest is started stopped, -S, and the harness
    continues it once it has opened the pty); stdio_log: the serial console
    and the monitor on this terminal (interactive run), logged to a file."""
    smp = str(target.smp)
    if target.maxcpus:
        smp += ",maxcpus=%d" % target.maxcpus
    argv = [
        binary or QEMU,
        "-machine", "q35",
        "-accel", target.accel,
        "-cpu", target.cpu,
        "-smp", smp,
        "-m", str(target.mem),
        "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=%s" % (ovmf_code or OVMF_CODE),
        "-drive", "if=pflash,format=raw,unit=1,file=%s" % vars_path,
    ] + disk_args(target, esp_dir, image_path) + [
        "-device", "isa-debug-exit,iobase=0x%x,iosize=0x04" % DEBUG_EXIT_IOBASE,
        "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
        "-display", "none",
        "-nic", "none",
    ]
    if target.no_reboot:
        argv.append("-no-reboot")
    if serial_pty:
        argv += ["-serial", "pty", "-S"]
    elif serial_path:
        argv += ["-chardev", "socket,id=vigil-serial,path=%s,server=on,wait=on" % serial_path,
                 "-serial", "chardev:vigil-serial"]
    elif stdio_log:
        # Like -serial mon:stdio (Ctrl-A X quits, Ctrl-A C the monitor), plus a
        # log file; signal=off sends Ctrl-C to the guest, as the console expects.
        argv += ["-chardev", "stdio,id=vigil-con,mux=on,signal=off,logfile=%s" % stdio_log,
                 "-serial", "chardev:vigil-con",
                 "-mon", "chardev=vigil-con,mode=readline"]
    else:
        argv += ["-serial", "none"]
    for f in acpi_files:
        argv += ["-acpitable", "file=%s" % f]
    argv += list(target.args)
    if gdb:
        argv += ["-s", "-S"]
    return argv


def qemu_exit_info(returncode, shutdown_reason=None, ok_values=None):
    """Interpret QEMU's exit status (see the module docstring)."""
    ok_values = DEBUG_EXIT_OK if ok_values is None else ok_values
    if returncode is None:
        return None
    if returncode < 0:
        return ExitInfo(False, "killed by signal %d" % -returncode, returncode)
    if returncode == 0:
        if shutdown_reason in (None, "guest-shutdown"):
            return ExitInfo(True, "poweroff (exit 0%s)" % (
                ", ACPI S5" if shutdown_reason else ""), 0)
        if shutdown_reason == "guest-reset":
            return ExitInfo(False, "guest reset under -no-reboot (triple fault or reboot)", 0)
        if shutdown_reason == "guest-panic":
            return ExitInfo(False, "guest panic (pvpanic)", 0)
        return ExitInfo(False, "QEMU stopped: %s" % shutdown_reason, 0)
    if returncode & 1:
        value = returncode >> 1
        if value in ok_values:
            return ExitInfo(True, "isa-debug-exit 0x%x (success code)" % value, returncode)
        extra = " or a QEMU error, see the host log" if returncode == 1 else ""
        return ExitInfo(False, "isa-debug-exit 0x%x (exit status %d%s)" % (
            value, returncode, extra), returncode)
    return ExitInfo(False, "QEMU exit status %d" % returncode, returncode)


class QemuMachine(Machine):
    kind = "qemu"
    time_scale = 1.0
    boot_timeout = 180.0

    def __init__(self, target, build, cmdline=None, esp=None, gdb=False,
                 s3_wakeup=DEFAULT_S3_WAKEUP, **kw):
        super().__init__(target, build, cmdline=cmdline, **kw)
        self.esp = esp or os.path.join(build, "esp")
        self.image = os.path.join(build, "vigil.img")
        self.pty_path = None
        self.gdb = gdb
        self.s3_wakeup = s3_wakeup
        self.qmp = None
        if target.smp > 2:
            # TCG runs one host thread per vCPU: on a small host, many vCPUs
            # make every step slower.
            self.time_scale = 1.0 + 0.25 * (target.smp - 2)

    def prepare(self):
        if shutil.which(QEMU) is None:
            raise MachineError("%s not found (apt-get install qemu-system-x86)" % QEMU)
        for f in (OVMF_CODE, OVMF_VARS):
            if not os.path.isfile(f):
                raise MachineError("%s not found (apt-get install ovmf)" % f)
        image_path = None
        if self.target.disk == "usb":
            tmp = self.make_tmp("vigil-qemu-")
            image_path = os.path.join(tmp, "vigil.img")
            try:
                esp = disk_mod.prepare_image(self.image, image_path, self.cmdline)
            except (disk_mod.DiskError, OSError) as e:
                raise MachineError(str(e))
            self.progress_note("stick image %s (ESP at byte %d)%s" % (
                self.image, esp.offset,
                "" if self.cmdline is None else ", vigil/cmdline.txt rewritten"))
        else:
            check_esp(self.esp)
            tmp = self.make_tmp("vigil-qemu-")
            prepare_esp(self.esp, os.path.join(tmp, "esp"), self.cmdline)
        vars_path = os.path.join(tmp, "OVMF_VARS.fd")
        shutil.copyfile(OVMF_VARS, vars_path)
        acpi_files = []
        for i, table in enumerate(self.target.acpi_tables):
            p = os.path.join(tmp, "acpi%d.dat" % i)
            with open(p, "wb") as f:
                f.write(table)
            acpi_files.append(p)
        self.serial_path = os.path.join(tmp, "serial.sock")
        self.qmp_path = os.path.join(tmp, "qmp.sock")
        return qemu_argv(self.target, os.path.join(tmp, "esp"), vars_path, self.qmp_path,
                         serial_path=self.serial_path, acpi_files=acpi_files, gdb=self.gdb,
                         image_path=image_path, serial_pty=self.target.serial == "pty")

    def connect(self):
        if self.target.serial == "pty":
            return self._connect_pty()
        try:
            sock = connect_unix(self.serial_path, 30.0, alive=self.alive)
        except QMPError as e:
            time.sleep(0.2)
            raise MachineError("QEMU did not start: %s\n%s" % (e, self.host_log_tail()))
        self._connect_qmp()
        return SocketTransport(sock)

    def _connect_qmp(self):
        try:
            self.qmp = QMP(self.qmp_path, timeout=15.0, alive=self.alive)
            self.qmp.set_auto_wakeup(self.s3_wakeup)
        except (QMPError, OSError, ValueError) as e:
            self.qmp = None
            if self._host_log:
                self._host_log.write(("# harness: no QMP: %s\n" % e).encode())
                self._host_log.flush()

    def _connect_pty(self):
        """-serial pty: find the pty QEMU names on its stdout (the host log),
        open it as a serial adapter is opened (termios raw, 115200 8N1), then
        let the stopped guest run (QMP cont) so nothing is printed before the
        harness listens."""
        deadline = time.monotonic() + 30.0
        path = None
        while path is None:
            try:
                with open(self.host_log, "rb") as f:
                    m = PTY_RE.search(f.read())
            except OSError:
                m = None
            if m:
                path = m.group(1).decode()
                break
            if not self.alive() or time.monotonic() > deadline:
                raise MachineError("QEMU named no pty for -serial pty\n%s" % self.host_log_tail())
            time.sleep(0.05)
        self.pty_path = path
        self.progress_note("serial console on %s (opened raw at %d baud)" % (path, self.target.baud))
        transport = open_tty(path, self.target.baud)
        self._connect_qmp()
        if self.qmp is None:
            transport.close()
            raise MachineError("QEMU: no QMP to start the guest stopped for -serial pty")
        self.qmp.command("cont")
        return transport

    def wait_boot(self, timeout, progress=None):
        """The first prompt; fails at once when OVMF gives up on the disk and
        starts its shell, instead of after the whole boot timeout."""
        con = self.console
        scanned = [0]

        def done():
            if con.boot_lines is not None:
                return True
            for line in con.lines[scanned[0]:]:
                if UEFI_SHELL_RE.search(line):
                    raise ConsoleError("the firmware found nothing to boot and started the UEFI "
                                       "shell (%s)" % line.strip(), con.tail())
            scanned[0] = len(con.lines)
            return False
        con.wait_until(done, timeout, "the first prompt", progress=progress)
        return con.wait_boot(0)

    def set_s3_wakeup(self, delay):
        """Seconds from SUSPEND to system_wakeup (None: stay asleep)."""
        self.s3_wakeup = delay
        if self.qmp is not None:
            self.qmp.set_auto_wakeup(delay)

    def exit_verdict(self, returncode):
        reason = None
        if self.qmp is not None:
            self.qmp.wait_closed(1.0)
            reason = self.qmp.shutdown_reason()
        return qemu_exit_info(returncode, reason)

    def cleanup(self):
        if self.qmp is not None:
            try:
                self.qmp.close()
            except OSError:
                pass
        super().cleanup()


def run_interactive(target, build, cmdline=None, gdb=False, esp=None, log_dir=None, keep=False,
                    s3_wakeup=DEFAULT_S3_WAKEUP):
    """`make run` / `make debug`: QEMU in the foreground on this terminal.
    A guest that enters S3 is woken after s3_wakeup seconds (None: stays
    asleep until `system_wakeup` in the monitor)."""
    import subprocess
    import tempfile
    esp = esp or os.path.join(build, "esp")
    if shutil.which(QEMU) is None:
        raise MachineError("%s not found (apt-get install qemu-system-x86)" % QEMU)
    check_esp(esp)
    log_dir = log_dir or os.path.join(build, "logs")
    os.makedirs(log_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="vigil-run-")
    try:
        prepare_esp(esp, os.path.join(tmp, "esp"), cmdline)
        vars_path = os.path.join(tmp, "OVMF_VARS.fd")
        shutil.copyfile(OVMF_VARS, vars_path)
        qmp_path = os.path.join(tmp, "qmp.sock")
        log = os.path.join(log_dir, "run-%s.log" % target.slug)
        argv = qemu_argv(target, os.path.join(tmp, "esp"), vars_path, qmp_path, stdio_log=log,
                         gdb=gdb)
        print("harness: %s" % " ".join(argv))
        print("harness: serial log %s; Ctrl-A X quits, Ctrl-A C is the QEMU monitor" % log)
        proc = subprocess.Popen(argv)
        qmp = None
        try:
            qmp = QMP(qmp_path, timeout=15.0, alive=lambda: proc.poll() is None)
            qmp.set_auto_wakeup(s3_wakeup)
        except (QMPError, OSError, ValueError):
            qmp = None
        try:
            rc = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            rc = proc.wait()
        reason = None
        if qmp is not None:
            qmp.wait_closed(1.0)
            reason = qmp.shutdown_reason()
            qmp.close()
        info = qemu_exit_info(rc, reason)
        if reason and reason.startswith("host-"):
            # Ctrl-A X, the monitor's quit, a signal: the user ended the run.
            print("\nharness: QEMU stopped by the user (%s)" % reason)
            return 0
        print("\nharness: QEMU exited: %s" % info.reason)
        return 0 if info.clean else 1
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)

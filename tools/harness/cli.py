"""The command line: run, check, bench, exec, list.  See docs/harness.md."""

import argparse
import atexit
import json
import os
import shutil
import signal
import statistics
import sys
import threading
import time

from . import qemu as qemu_mod
from . import bochs as bochs_mod
from . import serial as serial_mod
from .console import ConsoleError, PROMPT, Console, open_tty
from .machine import MachineError, kill_all
from .report import Reporter, write_junit
from .runner import Runner, plan
from .scenario import load_scenarios
from .kvm import host_vendor, kvm_status
from .targets import Target, kvm_variant, serial as serial_target

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _target_from_args(a, kind=None):
    kind = kind or getattr(a, "target", None) or "qemu"
    if kind == "qemu":
        accel = getattr(a, "accel", "tcg") or "tcg"
        cpu = "host" if accel == "kvm" and a.cpu == "max" else a.cpu
        return Target("qemu", smp=a.smp, cpu=cpu, mem=a.mem, maxcpus=getattr(a, "maxcpus", None),
                      accel=accel)
    if kind == "bochs":
        cpu = a.cpu if a.cpu and a.cpu != "max" else None
        mem = None if a.mem in (None, "512M") else int(str(a.mem).rstrip("Mm"))
        return Target("bochs", smp=a.smp, cpu=cpu, mem=mem)
    raise SystemExit("harness: unknown target %r (qemu or bochs)" % kind)


def machine_factories(args, verbose=None):
    """kind -> (target, cmdline, name) -> Machine."""
    s3_wakeup = getattr(args, "s3_wakeup", qemu_mod.DEFAULT_S3_WAKEUP)

    def mk_qemu(target, cmdline, name):
        return qemu_mod.QemuMachine(target, args.build, cmdline=cmdline, log_dir=args.logs,
                                    name=name, keep=args.keep, verbose=verbose and verbose(target),
                                    s3_wakeup=s3_wakeup)

    def mk_bochs(target, cmdline, name):
        return bochs_mod.BochsMachine(target, args.build, cmdline=cmdline, log_dir=args.logs,
                                      name=name, keep=args.keep, verbose=verbose and verbose(target))

    def mk_serial(target, cmdline, name):
        return serial_mod.SerialMachine(target, args.build, log_dir=args.logs, name=name,
                                        verbose=verbose and verbose(target))
    return {"qemu": mk_qemu, "bochs": mk_bochs, "serial": mk_serial}


def availability(accel="tcg", kvm=kvm_status):
    """kind -> None when its emulator is installed, else why the kind is
    skipped.  With accel kvm, QEMU also needs KVM able to run a guest with
    nested VMX/SVM (kvm.py)."""
    out = {}
    out["qemu"] = None if shutil.which(qemu_mod.QEMU) else "%s not installed" % qemu_mod.QEMU
    out["bochs"] = None if shutil.which(bochs_mod.BOCHS) else "%s not installed" % bochs_mod.BOCHS
    out["serial"] = None
    if accel == "kvm" and out["qemu"] is None:
        why = kvm()
        out["qemu"] = None if why is None else "KVM cannot run vigil's guests here: %s" % why
    return out


def split_serial_targets(kinds, baud):
    """--target serial:/dev/ttyUSB0 -> (the serial Target or None, the other
    --target values)."""
    serial = None
    rest = []
    for k in kinds or []:
        if k.startswith("serial:"):
            path = k[len("serial:"):]
            if not path:
                raise SystemExit("harness: --target serial: needs a device, e.g. serial:/dev/ttyUSB0")
            if serial is not None:
                raise SystemExit("harness: one serial target at a time")
            serial = serial_target(path, baud=baud)
        else:
            rest.append(k)
    if serial is not None and rest:
        raise SystemExit("harness: --target serial:... cannot be mixed with emulator targets")
    return serial, rest


def kvm_scenarios(scenarios, vendor=None):
    """`check --accel kvm`: every target of every scenario becomes its
    QEMU/KVM variant (duplicates dropped).  -cpu host has one vendor's
    extension, so when the host's is known (vendor "vmx" or "svm") the
    scenarios named for the other (virt_svm_* on an Intel host) are left out."""
    other = {"vmx": "_svm_", "svm": "_vmx_"}.get(vendor)
    for sc in scenarios:
        if other and other in "_%s_" % sc.name:
            sc.targets = []
            continue
        seen = []
        for t in sc.targets:
            k = kvm_variant(t)
            if k not in seen:
                seen.append(k)
        sc.targets = seen
    return scenarios


def _verbose_printer(enabled):
    if not enabled:
        return None
    lock = threading.Lock()

    def for_target(target):
        def show(line):
            with lock:
                print("[%s] %s" % (target.label, line), file=sys.stderr, flush=True)
        return show
    return for_target


# --------------------------------------------------------------------------
# check

def cmd_check(args):
    paths = args.paths or [os.path.join(REPO, "tests", "scenarios")]
    scenarios = load_scenarios(paths)
    if args.accel == "kvm":
        kvm_scenarios(scenarios, host_vendor())
    serial, kinds = split_serial_targets(args.target, getattr(args, "baud", 115200))
    try:
        pairs, units = plan(scenarios, only=args.only, kinds=kinds, groups=args.group,
                            serial=serial)
    except ValueError as e:
        print("harness: %s" % e, file=sys.stderr)
        return 2
    if serial is not None:
        emulated = sum(1 for sc in scenarios if not sc.real)
        print("harness: %s: %d scenarios declared real=True; %d need an emulator and do not run "
              "there" % (serial.label, sum(1 for sc in scenarios if sc.real), emulated),
              file=sys.stderr)
    if args.list:
        for sc, t in pairs:
            print("%s (%s)  groups: %s%s" % (sc.name, t.label, " ".join(sc.groups),
                                             "  [shared: %s]" % sc.group if sc.group else ""))
        print("harness: %d scenario runs in %d boots" % (len(pairs), len(units)))
        return 0
    rep = Reporter()
    rep.header(len(pairs))
    started = time.time()
    # Report in plan order: a unit's results arrive together, units may finish
    # out of order with --jobs; KTAP numbers follow arrival.
    runner = Runner(machine_factories(args, _verbose_printer(args.verbose)),
                    available=availability(args.accel), jobs=min(args.jobs, 8),
                    on_result=rep.result, on_progress=rep.progress)
    interrupted = False
    try:
        results = runner.run(units)
    except KeyboardInterrupt:
        interrupted = True
        runner.stop()
        kill_all()
        results = runner.results
    if args.junit:
        write_junit(args.junit, results, started=started)
    if interrupted:
        print("harness: interrupted", file=sys.stderr)
    rep.summary(results)
    if interrupted:
        return 130
    ok = all(r.status in ("pass", "skip") for r in results) and len(results) == len(pairs)
    if not pairs:
        print("harness: no scenario selected", file=sys.stderr)
        return 1
    return 0 if ok else 1


# --------------------------------------------------------------------------
# run (interactive)

def _kvm_or_exit(target):
    if target.kind == "qemu" and target.accel == "kvm":
        why = kvm_status()
        if why:
            raise SystemExit("harness: --accel kvm: KVM cannot run vigil's guests here: %s" % why)


def cmd_run(args):
    target = _target_from_args(args)
    _kvm_or_exit(target)
    if target.kind == "qemu":
        return qemu_mod.run_interactive(target, args.build, cmdline=args.cmdline, gdb=args.gdb,
                                        log_dir=args.logs, keep=args.keep,
                                        s3_wakeup=args.s3_wakeup)
    if args.gdb:
        raise SystemExit("harness: --gdb is for QEMU (Bochs has its own debugger)")
    return _run_bochs_interactive(args, target)


def bridge(con, read_remote, quit_byte=b"\x1d"):
    """This terminal <-> a console: keys go out as typed (the terminal in raw
    mode), everything received is shown and fed to `con`, which logs it.
    Ctrl-] (quit_byte) or the end of standard input stops it."""
    import select
    import termios
    import tty
    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd) if os.isatty(fd) else None
    try:
        if old:
            tty.setraw(fd)
        while True:
            r, _, _ = select.select([fd], [], [], 0.02)
            if r:
                data = os.read(fd, 1024)
                if quit_byte in data:
                    data = data[:data.index(quit_byte)]
                    if data:
                        con.write(data)
                    break
                if not data:
                    break
                con.write(data)
            try:
                data = read_remote(0.02)
            except EOFError:
                return "the other side closed the line"
            if data:
                os.write(sys.stdout.fileno(), data)
                con.feed(data)
    finally:
        if old:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
    return None


def cmd_attach(args):
    """The console of a machine on a serial line, on this terminal."""
    target = serial_target(args.tty, baud=args.baud)
    os.makedirs(args.logs, exist_ok=True)
    log = os.path.join(args.logs, "attach-%s.log" % target.slug)
    try:
        transport = open_tty(args.tty, args.baud)
    except (OSError, ValueError) as e:
        print("harness: cannot open %s at %d baud: %s" % (args.tty, args.baud, e), file=sys.stderr)
        return 1
    con = Console(transport, log_path=log)
    print("harness: attached to %s at %d 8N1 (log %s); Ctrl-] quits" % (args.tty, args.baud, log),
          file=sys.stderr, flush=True)
    try:
        why = bridge(con, transport.read)
    finally:
        con.close()
    print("\nharness: detached from %s%s" % (args.tty, ": %s" % why if why else ""),
          file=sys.stderr)
    return 0


def _run_bochs_interactive(args, target):
    """Bridge this terminal to Bochs' COM1.  Ctrl-] quits."""
    m = bochs_mod.BochsMachine(target, args.build, cmdline=args.cmdline, log_dir=args.logs,
                               name="run-%s" % target.slug, keep=args.keep)
    con = m.start()
    print("harness: Bochs started (serial log %s); Ctrl-] quits" % m.serial_log, file=sys.stderr)
    try:
        bridge(con, con._t.read)
    finally:
        m.stop()
    print("\nharness: Bochs stopped: %s" % m.exit_info, file=sys.stderr)
    return 0


# --------------------------------------------------------------------------
# bench

def paste_burst(con, lines=8, width=250):
    """Paste blank lines at the console, as fast as it takes them, for the
    kernel's console_rx figure (its input rate over the burst, echo
    included): a pause first, so that the burst stands alone."""
    con.wait_prompt()
    time.sleep(0.3)
    p0 = con.prompts
    con.send((" " * width + "\r") * lines)
    con.wait_until(lambda: con.prompts >= p0 + lines, con.scaled(60), "%d prompts" % lines)


def cmd_bench(args):
    target = _target_from_args(args)
    _kvm_or_exit(target)
    fac = machine_factories(args)[target.kind]
    boots = []
    figures = []
    status = 0
    for i in range(max(1, args.boots)):
        m = fac(target, args.cmdline, "bench-%s%s" % (target.slug, "" if i == 0 else ".%d" % i))
        try:
            con = m.start()
            con.wait_boot(m.boot_timeout)
            boots.append(con.first_prompt_at - m.started_at)
            print("harness: boot %d: first prompt after %.2fs" % (i + 1, boots[-1]), file=sys.stderr)
            if i == 0:
                if args.what in ("all", "console_rx"):
                    paste_burst(con)
                rep = con.cmd("bench " + args.what, timeout=con.scaled(args.timeout))
                for line in rep.lines:
                    print(line, flush=True)
                figures = [r for r in rep.records if "bench" in r]
                if rep.status != "ok":
                    print("harness: bench failed: %s" % (rep.error or "no status"), file=sys.stderr)
                    status = 1
            con.send("poweroff\r")
            info = m.wait_exit(con.scaled(30))
            if info is not None and not info.clean:
                print("harness: machine stopped: %s" % info.reason, file=sys.stderr)
                status = 1
        except (ConsoleError, MachineError) as e:
            print("harness: bench: %s" % e, file=sys.stderr)
            tail = getattr(e, "tail", "")
            if tail:
                print(tail, file=sys.stderr)
            status = 1
            break
        finally:
            m.stop()
    if boots:
        line = "bench=boot_to_prompt median=%.3f min=%.3f max=%.3f unit=s samples=%d source=host" % (
            statistics.median(boots), min(boots), max(boots), len(boots))
        print(line, flush=True)
    if args.json:
        doc = {"target": target.label, "boot_to_prompt_s": boots, "figures": figures}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
    return status


# --------------------------------------------------------------------------
# exec: boot, type commands, print the replies

def cmd_exec(args):
    target = _target_from_args(args)
    _kvm_or_exit(target)
    fac = machine_factories(args)[target.kind]
    m = fac(target, args.cmdline, "exec-%s" % target.slug)
    status = 0
    try:
        con = m.start()
        for line in con.wait_boot(m.boot_timeout):
            if args.boot_log:
                print(line)
        for c in args.commands:
            rep = con.cmd(c, timeout=con.scaled(args.timeout))
            print(PROMPT + c)
            for line in rep.raw[1:]:
                print(line)
            if rep.status != "ok" or rep.problems:
                status = 1
                for p in rep.problems:
                    print("harness: protocol: %s" % p, file=sys.stderr)
        if not args.no_poweroff:
            con.send("poweroff\r")
            info = m.wait_exit(con.scaled(30))
            print("harness: machine stopped: %s" % (info.reason if info else "no (killed)"),
                  file=sys.stderr)
            if info is None or not info.clean:
                status = 1
    except (ConsoleError, MachineError) as e:
        print("harness: %s" % e, file=sys.stderr)
        if getattr(e, "tail", ""):
            print(e.tail, file=sys.stderr)
        info = m.wait_exit(2.0) if m.proc is not None else None
        if info is not None:
            print("harness: machine stopped: %s" % info.reason, file=sys.stderr)
        status = 1
    finally:
        m.stop()
    return status


def cmd_list(args):
    args.list = True
    args.baud = 115200
    args.only = args.only or []
    args.target = args.target or []
    args.group = args.group or []
    args.junit = None
    args.jobs = 1
    args.verbose = False
    return cmd_check(args)


# --------------------------------------------------------------------------

def _s3_wakeup_arg(text):
    """--s3-wakeup: seconds, or 'off'."""
    if text in ("off", "none", "never"):
        return None
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected seconds or 'off', not %r" % text)
    if v < 0:
        raise argparse.ArgumentTypeError("expected seconds >= 0, not %r" % text)
    return v


def parser():
    p = argparse.ArgumentParser(prog="harness.py", description="vigil host test harness")
    p.add_argument("--build", default="build", help="build directory (default: build)")
    p.add_argument("--logs", default=None, help="log directory (default: BUILD/logs)")
    p.add_argument("--keep", action="store_true", help="keep per-run temp dirs")
    p.add_argument("--debug-exit-ok", action="append", default=[], metavar="VALUE",
                   help="isa-debug-exit value that means success (repeatable)")
    sub = p.add_subparsers(dest="command", required=True)

    def machine_opts(sp, smp=1):
        sp.add_argument("--target", default="qemu", choices=["qemu", "bochs"])
        sp.add_argument("--smp", type=int, default=smp)
        sp.add_argument("--cpu", default="max", help="QEMU -cpu model, or the Bochs CPU model")
        sp.add_argument("--mem", default="512M")
        sp.add_argument("--maxcpus", type=int, default=None)
        sp.add_argument("--accel", default="tcg", choices=["tcg", "kvm"],
                        help="QEMU accelerator; kvm implies -cpu host and needs nested VMX/SVM")
        sp.add_argument("--cmdline", default=None, help="kernel command line")
        sp.add_argument("--s3-wakeup", type=_s3_wakeup_arg, default=qemu_mod.DEFAULT_S3_WAKEUP,
                        metavar="SECONDS|off",
                        help="QEMU: wake a guest that entered ACPI S3 after this long "
                             "(QMP system_wakeup; default %(default)s s)")

    sp = sub.add_parser("run", help="boot with the console on this terminal")
    machine_opts(sp, smp=4)
    sp.add_argument("--gdb", action="store_true", help="QEMU: -s -S (wait for gdb on :1234)")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("check", help="run scenarios")
    sp.add_argument("paths", nargs="*", help="scenario files or directories (default tests/scenarios)")
    sp.add_argument("--junit", help="write JUnit XML here")
    sp.add_argument("--only", action="append", default=[], metavar="PATTERN",
                    help="scenario name (substring, or glob on 'name (target)'); repeatable")
    sp.add_argument("--target", action="append", default=[], metavar="KIND",
                    help="qemu, bochs, a glob on the target label (repeatable), or "
                         "serial:/dev/ttyUSB0 (a machine on a serial line: real=True scenarios)")
    sp.add_argument("--group", action="append", default=[], metavar="NAME",
                    help="scenarios of this group (see --list); repeatable")
    sp.add_argument("--jobs", "-j", type=int, default=1, help="boots in parallel (default 1)")
    sp.add_argument("--verbose", "-v", action="store_true", help="mirror serial output to stderr")
    sp.add_argument("--list", action="store_true", help="list what would run")
    sp.add_argument("--baud", type=int, default=115200,
                    help="serial targets: the line speed (default 115200)")
    sp.add_argument("--accel", default="tcg", choices=["tcg", "kvm"],
                    help="kvm: every target runs under QEMU/KVM with -cpu host, or is skipped with "
                         "the reason when KVM cannot run nested guests here")
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("attach", help="the console of a machine on a serial line, here")
    sp.add_argument("--tty", required=True, help="the serial device, e.g. /dev/ttyUSB0")
    sp.add_argument("--baud", type=int, default=115200, help="line speed (default 115200), 8N1")
    sp.set_defaults(func=cmd_attach)

    sp = sub.add_parser("bench", help="boot once, run 'bench all', print the figures")
    machine_opts(sp, smp=4)
    sp.add_argument("--what", default="all", help="bench argument (default all)")
    sp.add_argument("--boots", type=int, default=1, help="boots to time (default 1)")
    sp.add_argument("--timeout", type=float, default=600, help="seconds for the bench command")
    sp.add_argument("--json", help="also write the figures as JSON")
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("exec", help="boot, run commands, print the replies, power off")
    machine_opts(sp)
    sp.add_argument("commands", nargs="*")
    sp.add_argument("--timeout", type=float, default=60)
    sp.add_argument("--boot-log", action="store_true", help="print the boot log first")
    sp.add_argument("--no-poweroff", action="store_true")
    sp.set_defaults(func=cmd_exec)

    sp = sub.add_parser("list", help="list scenarios and their targets")
    sp.add_argument("paths", nargs="*")
    sp.add_argument("--only", action="append", default=[])
    sp.add_argument("--target", action="append", default=[])
    sp.add_argument("--group", action="append", default=[])
    sp.add_argument("--accel", default="tcg", choices=["tcg", "kvm"])
    sp.set_defaults(func=cmd_list)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.logs is None:
        args.logs = os.path.join(args.build, "logs")
    for v in args.debug_exit_ok:
        qemu_mod.DEBUG_EXIT_OK.add(int(v, 0))
    atexit.register(kill_all)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    # Even when started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return args.func(args)
    except MachineError as e:
        print("harness: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        kill_all()
        print("harness: interrupted", file=sys.stderr)
        return 130
    finally:
        kill_all()

"""The scenario format.

A scenario is a Python function in a file under tests/scenarios/, decorated
with @scenario.  The harness boots one machine per target the scenario lists,
waits for the first prompt and calls the function with a Session:

    from harness.scenario import scenario, qemu, bochs

    @scenario(targets=[qemu(smp=1), qemu(smp=4), bochs(smp=2)])
    def version(s):
        r = s.ok("version")
        s.eq(r.get("arch"), "x86_64", "arch")

Decorator arguments:
    targets       list of targets (qemu(...), bochs(...)); default [qemu()]
    cmdline       kernel command line (None: the build's default)
    shared        True (or a group name): may share one booted machine with
                  the other shared scenarios of the same file (or group) and
                  the same target and command line.  Only for scenarios that
                  leave the machine as they found it.
    timeout       seconds for the whole scenario after boot (x the target's
                  slowness factor: 1 for QEMU, more for Bochs and many vCPUs)
    boot_timeout  seconds to the first prompt (default: the target's)
    name          default: the function name
    groups        extra selection groups (`check --group NAME`); a scenario is
                  always in the group named after its file, and in every group
                  its file lists in a module-level GROUPS tuple
    s3_wakeup     QEMU: seconds from the guest entering ACPI S3 (QMP SUSPEND)
                  to the harness's system_wakeup (default 0.1); None: the
                  guest stays asleep (wake it with s.qmp.wakeup())
    real          True: the scenario needs no emulator control (no QMP, no
                  machine exit, no command line of its own, any CPU count:
                  s.smp) and also runs on a real machine over a serial line
                  (check --target serial:/dev/ttyUSB0).  Default False.
    expect_reports  regexes of kernel reports (BUG:, WARNING:, lockdep) the
                  scenario provokes on purpose; any other report in its part
                  of the log fails it (tools/harness/reports.py)

A scenario fails by raising: s.check()/s.eq()/s.ok()... raise Failure with a
message; any console error (timeout, panic, machine gone) fails it too.
"""

import importlib.util
import os
import re
import sys

from .targets import bochs, fake, qemu, serial  # noqa: F401  (re-exported for scenario files)

__all__ = ["scenario", "qemu", "bochs", "Failure", "Session", "load_scenarios"]


class Failure(AssertionError):
    """A scenario's expectation was not met."""

    def __init__(self, message, details=""):
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self):
        return self.message


DEFAULT_S3_WAKEUP = 0.1     # seconds; tools/harness/qemu.py has the same default


class Scenario:
    def __init__(self, func, name, targets, cmdline, shared, timeout, boot_timeout, module, path,
                 s3_wakeup=DEFAULT_S3_WAKEUP, groups=(), real=False, expect_reports=()):
        self.func = func
        self.name = name
        self.targets = targets
        self.cmdline = cmdline
        self.shared = shared
        self.timeout = timeout
        self.boot_timeout = boot_timeout
        self.module = module
        self.path = path
        self.doc = (func.__doc__ or "").strip()
        self.order = 0
        self.s3_wakeup = s3_wakeup
        self.groups = tuple(groups)  # selection groups; load_scenarios adds the file's
        self.real = bool(real)
        if self.real and cmdline is not None:
            raise ValueError("%s: real=True, but a machine on a serial line boots with the "
                             "command line on its stick, not %r" % (name, cmdline))
        self.expect_reports = tuple(expect_reports)

    @property
    def group(self):
        """The sharing group name, or None when the scenario boots alone."""
        if not self.shared:
            return None
        return self.shared if isinstance(self.shared, str) else self.module

    def __repr__(self):
        return "<Scenario %s>" % self.name


_pending = []


def scenario(targets=None, cmdline=None, shared=False, timeout=300, boot_timeout=None, name=None,
             s3_wakeup=DEFAULT_S3_WAKEUP, groups=(), real=False, expect_reports=()):
    if isinstance(groups, str):
        groups = (groups,)

    def wrap(func):
        sc = Scenario(func, name or func.__name__, list(targets or [qemu()]), cmdline, shared,
                      timeout, boot_timeout, func.__module__, None, s3_wakeup=s3_wakeup,
                      groups=groups, real=real, expect_reports=expect_reports)
        if not sc.targets:
            raise ValueError("%s: no targets" % sc.name)
        _pending.append(sc)
        func.scenario = sc
        return func
    return wrap


def load_scenarios(paths):
    """Import every scenario file (tests/scenarios/*.py, not starting with
    '_'); returns the scenarios in file, then definition, order."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p)
                            if f.endswith(".py") and not f.startswith("_"))
        else:
            files.append(p)
    out = []
    seen = {}
    for path in files:
        stem = os.path.splitext(os.path.basename(path))[0]
        modname = "vigil_scenarios.%s" % stem
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        del _pending[:]
        sys.modules[modname] = mod
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        try:
            spec.loader.exec_module(mod)
        finally:
            sys.path.pop(0)
        file_groups = getattr(mod, "GROUPS", ())
        if isinstance(file_groups, str):
            file_groups = (file_groups,)
        for sc in list(_pending):
            sc.module = stem
            sc.path = path
            sc.groups = tuple(dict.fromkeys((stem,) + tuple(file_groups) + sc.groups))
            if sc.name in seen:
                raise ValueError("scenario %r defined in both %s and %s" % (
                    sc.name, seen[sc.name], path))
            seen[sc.name] = path
            sc.order = len(out)
            out.append(sc)
        del _pending[:]
    return out


class Session:
    """What a scenario function receives: the booted machine and helpers.

    s.con        the Console (raw access: send, read_reply, expect, lines)
    s.machine    the Machine (s.machine.qmp for QEMU, wait_exit, exit_info)
    s.target     the Target (kind, smp, cpu, maxcpus, label)
    s.boot_log   the console text before the first prompt
    """

    def __init__(self, machine, console, target, scenario, notes=None):
        self.machine = machine
        self.con = console
        self.target = target
        self.scenario = scenario
        self.notes = notes if notes is not None else []
        self.boot_lines = list(console.boot_lines or [])
        self.expected_reports = list(getattr(scenario, "expect_reports", ()) or ())

    # -- facts ---------------------------------------------------------------

    @property
    def smp(self):
        """The CPU count: the target's, or on a serial line what the kernel
        said at boot."""
        return getattr(self.machine, "detected_smp", None) or self.target.smp

    @property
    def qmp(self):
        return getattr(self.machine, "qmp", None)

    # -- ACPI S3 (QEMU) ----------------------------------------------------------

    @property
    def suspends(self):
        """QMP SUSPEND events since boot (the guest entered S3)."""
        q = self.qmp
        return q.suspends if q is not None else 0

    @property
    def wakeups(self):
        """QMP WAKEUP events since boot (the harness or the scenario woke it)."""
        q = self.qmp
        return q.wakeups if q is not None else 0

    @property
    def s3_cycles(self):
        """[(suspend_time, wakeup_time or None)] in time.monotonic() seconds."""
        q = self.qmp
        return [tuple(c) for c in q.s3_cycles] if q is not None else []

    def set_s3_wakeup(self, delay):
        """Change the SUSPEND -> system_wakeup delay for the rest of the
        scenario (None: the guest stays asleep)."""
        setter = getattr(self.machine, "set_s3_wakeup", None)
        if setter is None:
            raise Failure("%s has no S3 wake-up control" % self.target.label)
        setter(delay)

    @property
    def boot_log(self):
        return "\n".join(self.boot_lines)

    def note(self, text):
        """A diagnostic line in the report (KTAP '#' line)."""
        self.notes.append(str(text))

    def scaled(self, seconds):
        return self.con.scaled(seconds)

    # -- assertions ----------------------------------------------------------

    def fail(self, message, details=""):
        raise Failure(message, details)

    def check(self, cond, message, details=""):
        if not cond:
            raise Failure(message, details)

    def eq(self, actual, expected, what):
        if actual != expected:
            raise Failure("%s: expected %r, got %r" % (what, expected, actual))

    def match(self, pattern, text, what):
        m = re.search(pattern, text or "")
        if not m:
            raise Failure("%s: %r does not match /%s/" % (what, text, pattern))
        return m

    # -- the console ---------------------------------------------------------

    def cmd(self, line, timeout=None, check_echo=None):
        """Run a command; fail on protocol violations; return the Reply."""
        rep = self.con.cmd(line, timeout=timeout, check_echo=check_echo)
        if rep.problems:
            raise Failure("%r: protocol violation: %s" % (_short(line), "; ".join(rep.problems)),
                          rep.text())
        return rep

    def ok(self, line, timeout=None):
        """Run a command that must succeed."""
        rep = self.cmd(line, timeout=timeout)
        if rep.status != "ok":
            raise Failure("%r: expected ok, got %s" % (_short(line), _status(rep)), rep.text())
        return rep

    def error(self, line, match=None, timeout=None, check_echo=None):
        """Run a command that must fail (with a reason matching `match`)."""
        rep = self.cmd(line, timeout=timeout, check_echo=check_echo)
        if rep.status != "error":
            raise Failure("%r: expected an error, got %s" % (_short(line), _status(rep)), rep.text())
        if match and not re.search(match, rep.error or ""):
            raise Failure("%r: error %r does not match /%s/" % (_short(line), rep.error, match),
                          rep.text())
        return rep

    def send(self, data):
        return self.con.send(data)

    def read_reply(self, mark, command=None, timeout=None, check_echo=False):
        rep = self.con.read_reply(mark, command, timeout=timeout, check_echo=check_echo)
        if rep.problems:
            raise Failure("reply to %r: protocol violation: %s" % (
                _short(command or "input"), "; ".join(rep.problems)), rep.text())
        return rep

    def expect(self, pattern, timeout=None):
        return self.con.expect(pattern, timeout=timeout)

    def boot_log_has(self, pattern, what=None):
        """The first boot-log line matching `pattern`, or fail."""
        rx = re.compile(pattern)
        for line in self.boot_lines:
            if rx.search(line):
                return line
        raise Failure("%s: no boot log line matches /%s/" % (what or "boot log", pattern),
                      "\n".join(self.boot_lines[-30:]))

    def log_has(self, pattern, what=None):
        """The first line of the whole console log so far matching `pattern`."""
        hits = self.con.search(pattern)
        if not hits:
            raise Failure("%s: no console line matches /%s/" % (what or "log", pattern))
        return hits[0]

    def allow_panic(self, allowed=True):
        self.con.allow_panic = allowed

    def expect_report(self, pattern):
        """Declare a kernel report (BUG:, WARNING:, lockdep) this scenario
        provokes on purpose: a regex searched in the report's lines."""
        self.expected_reports.append(pattern)

    # -- the machine ---------------------------------------------------------

    def expect_exit(self, clean=True, timeout=None):
        """Wait for the machine to stop by itself; check how (clean=None: any)."""
        if self.target.kind == "serial":
            raise Failure("a machine on a serial line: the harness cannot see it stop "
                          "(this scenario must not be real=True)")
        timeout = self.scaled(60) if timeout is None else timeout
        info = self.machine.wait_exit(timeout)
        if info is None:
            raise Failure("the machine did not stop within %.0fs" % timeout, self.con.tail())
        if clean is not None and info.clean != clean:
            raise Failure("machine stopped: %s (expected a %s stop)" % (
                info.reason, "clean" if clean else "failing"), self.con.tail())
        return info

    def poweroff(self, timeout=None):
        """Type 'poweroff' and check the machine stops cleanly."""
        self.con.wait_prompt()
        self.con.send("poweroff\r")
        return self.expect_exit(True, timeout)


def _short(s, n=60):
    s = repr(s)[1:-1]
    return s if len(s) <= n else s[:n] + "..."


def _status(rep):
    if rep.status == "error":
        return "error: %s" % rep.error
    return rep.status or "no status"


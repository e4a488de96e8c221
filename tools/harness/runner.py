"""Turns scenarios into boots and runs them.

A unit is one machine configuration (target + command line) and the
scenarios that run on it: one scenario, or every scenario of a sharing group
(one boot for all, rebooted after a scenario that leaves the machine in doubt).
Units run one after the other, or --jobs N at a time in threads.
"""

import fnmatch
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from .console import ConsoleClosed, ConsoleError, KernelPanic
from .machine import MachineError, kill_all
from .reports import find_unexpected
from .scenario import Failure, Session


class Result:
    def __init__(self, scenario, target):
        self.scenario = scenario
        self.target = target
        self.status = None          # "pass", "fail", "skip"
        self.message = ""
        self.details = ""
        self.duration = 0.0
        self.log = None
        self.notes = []

    @property
    def name(self):
        return self.scenario.name

    @property
    def title(self):
        return "%s (%s)" % (self.scenario.name, self.target.label)


class Unit:
    def __init__(self, target, cmdline, group, scenarios):
        self.target = target
        self.cmdline = cmdline
        self.group = group
        self.scenarios = scenarios

    @property
    def log_name(self):
        base = self.group if self.group else self.scenarios[0].name
        return "%s-%s" % (base, self.target.slug)


def matches(sc, target, only):
    if not only:
        return True
    names = (sc.name, "%s (%s)" % (sc.name, target.label), sc.module + "." + sc.name)
    for pat in only:
        wild = any(c in pat for c in "*?[")
        for n in names:
            if (fnmatch.fnmatchcase(n, pat) if wild else pat in n):
                return True
    return False


def target_matches(target, kinds):
    if not kinds:
        return True
    for k in kinds:
        if k == target.kind or fnmatch.fnmatchcase(target.label, k) or k == target.label:
            return True
    return False


def known_groups(scenarios):
    """Every selection group the scenarios name, sorted."""
    return sorted({g for sc in scenarios for g in sc.groups})


def plan(scenarios, only=None, kinds=None, groups=None, serial=None):
    """(pairs, units): the selected (scenario, target) pairs in report order
    and the units that run them.  `groups`: keep the scenarios in any of
    these selection groups; a name no scenario has raises ValueError.
    serial: a serial target that replaces every scenario's targets; only
    scenarios declared real=True run there, once."""
    if groups:
        unknown = sorted(set(groups) - set(known_groups(scenarios)))
        if unknown:
            raise ValueError("unknown group %s (groups: %s)" % (
                ", ".join(unknown), " ".join(known_groups(scenarios))))
    pairs = []
    for sc in scenarios:
        if groups and not set(groups) & set(sc.groups):
            continue
        if serial is not None:
            if sc.real and matches(sc, serial, only):
                pairs.append((sc, serial))
            continue
        for t in sc.targets:
            if target_matches(t, kinds) and matches(sc, t, only):
                pairs.append((sc, t))
    units = []
    shared = {}
    for sc, t in pairs:
        if sc.group is None:
            units.append(Unit(t, sc.cmdline, None, [sc]))
            continue
        key = (sc.group, t.key(), sc.cmdline)
        if key not in shared:
            shared[key] = Unit(t, sc.cmdline, sc.group, [])
            units.append(shared[key])
        shared[key].scenarios.append(sc)
    return pairs, units


class Runner:
    """Runs units.  `factories` maps a target kind to a callable
    (target, cmdline, name) -> Machine; `available` maps a kind to None (ok)
    or the reason it must be skipped."""

    def __init__(self, factories, available=None, jobs=1, on_result=None, on_progress=None):
        self.factories = factories
        self.available = available or {}
        self.jobs = max(1, jobs)
        self.on_result = on_result
        self.on_progress = on_progress
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _emit(self, res):
        with self._lock:
            self.results.append(res)
            if self.on_result:
                self.on_result(res, len(self.results))

    def run(self, units):
        if self.jobs == 1 or len(units) <= 1:
            for u in units:
                if self._stop.is_set():
                    break
                self.run_unit(u)
        else:
            ex = ThreadPoolExecutor(max_workers=self.jobs)
            try:
                futures = [ex.submit(self.run_unit, u) for u in units]
                for f in futures:
                    f.result()
            except BaseException:
                # Interrupted: stop scheduling, kill the emulators so the
                # workers' waits end now, let them clean up.
                self.stop()
                kill_all(cleanup=False)
                raise
            finally:
                ex.shutdown(wait=True, cancel_futures=True)
        return self.results

    def stop(self):
        self._stop.set()

    def progress(self, text):
        if self.on_progress:
            self.on_progress(text)

    def run_unit(self, unit):
        reason = self.available.get(unit.target.kind)
        if reason:
            for sc in unit.scenarios:
                res = Result(sc, unit.target)
                res.status = "skip"
                res.message = reason
                self._emit(res)
            return
        machine = None
        machine_log = None
        boot_failure = None
        boots = 0
        try:
            for sc in unit.scenarios:
                res = Result(sc, unit.target)
                t0 = time.monotonic()
                if self._stop.is_set():
                    res.status = "skip"
                    res.message = "interrupted"
                    self._emit(res)
                    continue
                if boot_failure is not None:
                    res.status = "fail"
                    res.message = "boot failed: %s" % boot_failure
                    res.log = machine_log
                    self._emit(res)
                    continue
                healthy = False
                booting = False
                try:
                    if machine is None:
                        boots += 1
                        name = unit.log_name if boots == 1 else "%s.boot%d" % (unit.log_name, boots)
                        machine = self.factories[unit.target.kind](unit.target, unit.cmdline, name)
                        machine_log = machine.serial_log
                        res.log = machine_log
                        booting = True
                        self._boot(machine, sc, unit)
                        booting = False
                    res.log = machine.serial_log
                    machine.console.note("scenario %s (%s) begins" % (sc.name, unit.target.label))
                    self._run_one(machine, sc, unit, res)
                    res.status = "pass"
                    healthy = not machine.console.closed and machine.alive()
                except Failure as e:
                    res.status = "fail"
                    res.message = e.message
                    res.details = e.details
                    healthy = machine is not None and machine.console is not None and \
                        not machine.console.closed and machine.alive()
                except KernelPanic as e:
                    res.status = "fail"
                    res.message = e.message
                    res.details = e.tail
                except ConsoleError as e:
                    res.status = "fail"
                    res.message = e.message
                    if getattr(res, "_watchdog", False):
                        res.message = "scenario timeout (%.0fs): %s" % (res._limit, e.message)
                    res.details = e.tail
                    if isinstance(e, ConsoleClosed) and machine is not None:
                        info = machine.wait_exit(2.0)
                        if info is not None:
                            res.message += " (machine stopped: %s)" % info.reason
                except MachineError as e:
                    res.status = "fail"
                    res.message = str(e)
                except Exception as e:  # a bug in a scenario or the harness
                    res.status = "fail"
                    res.message = "%s: %s" % (type(e).__name__, e)
                    res.details = traceback.format_exc()
                finally:
                    res.duration = time.monotonic() - t0
                if booting and res.status == "fail":
                    res.message = "boot: " + res.message
                    boot_failure = "%s (see %s)" % (res.message, sc.name)
                if machine is not None and not (healthy and unit.group):
                    machine.stop()
                    machine = None
                self._emit(res)
        finally:
            if machine is not None:
                machine.stop()

    def _boot(self, machine, sc, unit):
        self.progress("%s: booting %s" % (unit.target.label, machine.name))
        console = machine.start()
        timeout = sc.boot_timeout or machine.boot_timeout

        def progress(elapsed, con):
            self.progress("%s: %s: still booting after %.0fs (%d bytes of serial output)" % (
                unit.target.label, machine.name, elapsed, con.bytes_in))
        machine.wait_boot(timeout, progress=progress)

    def _run_one(self, machine, sc, unit, res):
        limit = sc.timeout * machine.time_scale
        res._limit = limit

        def expire():
            res._watchdog = True
            machine.kill()
        timer = threading.Timer(limit, expire)
        timer.daemon = True
        timer.start()
        try:
            setter = getattr(machine, "set_s3_wakeup", None)
            if setter is not None:
                setter(sc.s3_wakeup)
            con = machine.console
            start = getattr(con, "reports_checked", 0)
            session = Session(machine, con, unit.target, sc, notes=res.notes)
            try:
                sc.func(session)
                if con.panic_index is not None and not con.allow_panic:
                    con._check_panic()
            finally:
                # The next scenario of a shared boot answers for what comes
                # after this one (a failing one must not pass its reports on).
                con.reports_checked = len(con.lines)
            bad = find_unexpected(con.lines[start:], session.expected_reports, con.allow_panic)
            if bad:
                first = start + bad[0][0]
                raise Failure("undeclared kernel report%s: %s" % (
                    "s (%d)" % len(bad) if len(bad) > 1 else "", " | ".join(t for _, t in bad[:3])),
                    "\n".join(con.lines[max(0, first - 5):first + 25]))
        finally:
            timer.cancel()

"""What every target machine has in common.

A Machine owns one emulator process (in its own process group, so the whole
group can be killed) and one temporary directory.  start() returns a Console
connected to the guest's first serial port; stop() always leaves nothing
running.  Every live machine is registered so that a signal or an exception in
the harness can still kill them all (kill_all()).
"""

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time


class MachineError(Exception):
    """The machine could not be set up or started (missing file, bad tool)."""


class ExitInfo:
    """How a machine stopped.  clean is True only for an orderly poweroff."""

    def __init__(self, clean, reason, status=None):
        self.clean = clean
        self.reason = reason
        self.status = status

    def __repr__(self):
        return "ExitInfo(clean=%r, reason=%r, status=%r)" % (self.clean, self.reason, self.status)

    def __str__(self):
        return self.reason


_live = set()
_live_lock = threading.Lock()


def kill_all(cleanup=True):
    """Kill every machine still running (signal handlers, atexit).  With
    cleanup=False only the emulators die: the threads driving them notice
    (console closed) and clean up themselves."""
    with _live_lock:
        machines = list(_live)
    for m in machines:
        try:
            if cleanup:
                m.stop()
            else:
                m.kill()
        except Exception:
            pass


class Machine:
    kind = "?"
    time_scale = 1.0          # multiplies console timeouts
    boot_timeout = 120.0      # seconds to the first prompt

    def __init__(self, target, build, cmdline=None, log_dir=None, name="run", keep=False,
                 verbose=None):
        self.target = target
        self.build = build
        self.cmdline = cmdline
        self.log_dir = log_dir or os.path.join(build, "logs")
        self.name = name
        self.keep = keep
        self.verbose = verbose          # callable(line) to mirror serial output, or None
        self.proc = None
        self.console = None
        self.tmp = None
        self.started_at = None
        self.exit_info = None
        self._host_log = None
        os.makedirs(self.log_dir, exist_ok=True)
        self.serial_log = os.path.join(self.log_dir, name + ".log")
        self.host_log = os.path.join(self.log_dir, name + ".host.log")

    # -- subclass interface --------------------------------------------------

    def prepare(self):
        """Create the temp dir and every per-run file; return argv."""
        raise NotImplementedError

    def connect(self):
        """Connect to the guest serial port; return a Transport."""
        raise NotImplementedError

    def exit_verdict(self, returncode):
        """Turn the emulator's exit into an ExitInfo."""
        raise NotImplementedError

    def env(self):
        return None

    def progress_note(self, text):
        """A line in the host log (what the harness did before the emulator ran)."""
        if self._host_log is not None:
            self._host_log.write(("# harness: %s\n" % text).encode())
            self._host_log.flush()

    stop_signals = (signal.SIGTERM, signal.SIGKILL)

    # -- common --------------------------------------------------------------

    def make_tmp(self, prefix):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        return self.tmp

    def start(self):
        """Start the emulator and return a Console (not yet at the prompt)."""
        from .console import Console
        for p in (self.serial_log,):
            if os.path.exists(p):
                os.unlink(p)
        self._host_log = open(self.host_log, "wb")
        try:
            argv = self.prepare()
        except Exception:
            self.cleanup()
            raise
        self._host_log.write(("# %s\n# %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"),
                                                " ".join(_quote(a) for a in argv))).encode())
        self._host_log.flush()
        with _live_lock:
            _live.add(self)
        self.started_at = time.monotonic()
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._host_log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         cwd=self.tmp, env=self.env())
        except OSError as e:
            self.stop()
            raise MachineError("cannot start %s: %s" % (argv[0], e))
        try:
            transport = self.connect()
        except Exception:
            self.stop()
            raise
        self.console = Console(transport, log_path=self.serial_log, time_scale=self.time_scale,
                               on_line=self.verbose)
        self.console.started_at = self.started_at
        return self.console

    def wait_boot(self, timeout, progress=None):
        """Wait for the first prompt; returns the boot log."""
        return self.console.wait_boot(timeout, progress=progress)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout):
        """Wait for the emulator to exit by itself; returns ExitInfo or None."""
        if self.proc is None:
            return self.exit_info
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if self.console is not None and not self.console.closed:
                self.console.drain(min(0.2, max(0.0, deadline - time.monotonic())))
            else:
                time.sleep(0.1)
        if self.proc.poll() is None:
            return None
        if self.console is not None and not self.console.closed:
            self.console.drain(0.3)
        if self.exit_info is None:
            self.exit_info = self.exit_verdict(self.proc.returncode)
        return self.exit_info

    def kill(self):
        """SIGKILL the emulator now (watchdogs); stop() still cleans up."""
        if self.proc is not None and self.proc.poll() is None:
            self._signal(signal.SIGKILL)

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace=3.0):
        """Stop the emulator (if it still runs) and clean up.  Idempotent."""
        try:
            if self.proc is not None:
                if self.proc.poll() is None:
                    for sig in self.stop_signals:
                        self._signal(sig)
                        try:
                            self.proc.wait(grace)
                            break
                        except subprocess.TimeoutExpired:
                            continue
                    else:
                        self.proc.wait(5)
                    if self.exit_info is None:
                        self.exit_info = ExitInfo(False, "stopped by the harness",
                                                  self.proc.returncode)
                elif self.exit_info is None:
                    self.exit_info = self.exit_verdict(self.proc.returncode)
        finally:
            self.cleanup()
            with _live_lock:
                _live.discard(self)

    def cleanup(self):
        if self.console is not None:
            self.console.close()
        if self._host_log is not None:
            self._host_log.close()
            self._host_log = None
        if self.tmp and not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def host_log_tail(self, n=15):
        try:
            with open(self.host_log, "rb") as f:
                data = f.read()[-8192:]
        except OSError:
            return ""
        lines = data.decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])


def _quote(a):
    if a and all(c.isalnum() or c in "-_=.,:/+@%" for c in a):
        return a
    return "'" + a.replace("'", "'\\''") + "'"


def free_tcp_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

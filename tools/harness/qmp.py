"""A small QMP (QEMU Machine Protocol) client.

Used to learn why QEMU stopped (the SHUTDOWN event says guest-shutdown for
ACPI S5 and guest-reset for a triple fault under -no-reboot, both exit 0), to
wake the guest from S3 and, later, to hot-add CPUs (device_add).  One reader
thread collects events and command responses.

S3: when the guest writes SLP_TYP|SLP_EN for S3, QEMU stops it and emits
SUSPEND; `system_wakeup` resets the machine, the firmware resumes into the
guest's waking vector, and QEMU emits WAKEUP.  With auto-wakeup on (a delay
in seconds, set_auto_wakeup()), every SUSPEND is answered by system_wakeup
after that delay, from a timer thread (the reader thread cannot wait for a
command's response).  `suspends` and `wakeups` count the events; `s3_cycles`
lists (suspend_time, wakeup_time) pairs in time.monotonic() seconds.
"""

import itertools
import json
import socket
import threading
import time


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path, timeout=30.0, alive=None):
        """Connect to the QMP unix socket at `path`, retrying until it exists.
        `alive` (optional callable) stops the retries when QEMU died."""
        self.path = path
        self.events = []
        self.greeting = None
        self._responses = {}
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._closed = False
        self.suspends = 0
        self.wakeups = 0
        self.s3_cycles = []          # [suspend_time, wakeup_time or None]
        self.wakeup_errors = []      # why a system_wakeup failed
        self.auto_wakeup = None      # seconds from SUSPEND to system_wakeup; None: never
        self._wake_timers = []
        self.sock = _connect_unix(path, timeout, alive)
        self._rfile = self.sock.makefile("rb")
        line = self._rfile.readline()
        if not line:
            raise QMPError("QMP: no greeting")
        self.greeting = json.loads(line)
        self._thread = threading.Thread(target=self._reader, name="qmp-reader", daemon=True)
        self._thread.start()
        self.command("qmp_capabilities")

    def _reader(self):
        try:
            for line in self._rfile:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                with self._cond:
                    if "event" in msg:
                        self.events.append(msg)
                        self._s3_event(msg["event"])
                    elif "id" in msg:
                        self._responses[msg["id"]] = msg
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    @property
    def closed(self):
        return self._closed

    # -- S3 --------------------------------------------------------------------

    def set_auto_wakeup(self, delay):
        """Answer every SUSPEND with system_wakeup after `delay` seconds
        (None: leave the guest suspended)."""
        with self._cond:
            self.auto_wakeup = delay

    def _s3_event(self, name):
        # Called by the reader thread with self._cond held.
        now = time.monotonic()
        if name == "SUSPEND":
            self.suspends += 1
            self.s3_cycles.append([now, None])
            if self.auto_wakeup is not None:
                t = threading.Timer(self.auto_wakeup, self._wake)
                t.daemon = True
                self._wake_timers.append(t)
                t.start()
        elif name == "WAKEUP":
            self.wakeups += 1
            if self.s3_cycles and self.s3_cycles[-1][1] is None:
                self.s3_cycles[-1][1] = now

    def _wake(self):
        try:
            self.command("system_wakeup")
        except QMPError as e:
            with self._cond:
                self.wakeup_errors.append(str(e))

    def wakeup(self, timeout=10.0):
        """Wake a suspended guest now and wait for the WAKEUP event."""
        since = len(self.events)
        self.command("system_wakeup")
        return self.wait_event("WAKEUP", timeout=timeout, since=since)

    def command(self, name, timeout=10.0, **arguments):
        """Execute a QMP command; returns its "return" value, raises QMPError."""
        cid = next(self._ids)
        msg = {"execute": name, "id": cid}
        if arguments:
            msg["arguments"] = arguments
        try:
            self.sock.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as e:
            raise QMPError("QMP %s: %s" % (name, e))
        deadline = time.monotonic() + timeout
        with self._cond:
            while cid not in self._responses:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise QMPError("QMP %s: no response (%s)" % (
                        name, "QEMU gone" if self._closed else "timeout"))
                self._cond.wait(left)
            resp = self._responses.pop(cid)
        if "error" in resp:
            raise QMPError("QMP %s: %s: %s" % (name, resp["error"].get("class"),
                                                resp["error"].get("desc")))
        return resp.get("return")

    def hmp(self, command_line, timeout=10.0):
        """Run a human-monitor command through QMP; returns its text output."""
        return self.command("human-monitor-command", timeout=timeout, **{"command-line": command_line})

    def wait_event(self, name, timeout=10.0, match=None, since=0):
        """Wait for event `name` (optionally with data matching the dict
        `match`) at or after index `since` in self.events; returns it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            i = since
            while True:
                while i < len(self.events):
                    ev = self.events[i]
                    i += 1
                    if ev.get("event") != name:
                        continue
                    data = ev.get("data", {})
                    if match and any(data.get(k) != v for k, v in match.items()):
                        continue
                    return ev
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise QMPError("QMP: no %s event (%s)" % (
                        name, "QEMU gone" if self._closed else "timeout"))
                self._cond.wait(left)

    def event_names(self):
        with self._cond:
            return [e.get("event") for e in self.events]

    def shutdown_reason(self):
        """The reason of the last SHUTDOWN event, or None."""
        with self._cond:
            for ev in reversed(self.events):
                if ev.get("event") == "SHUTDOWN":
                    return ev.get("data", {}).get("reason")
        return None

    def wait_closed(self, timeout):
        self._thread.join(timeout)

    def close(self):
        for t in self._wake_timers:
            t.cancel()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(2.0)
        if not self._thread.is_alive():
            self._rfile.close()     # the socket's last reference: really closes it


def _connect_unix(path, timeout, alive=None):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError as e:
            s.close()
            last = e
        if alive is not None and not alive():
            raise QMPError("cannot connect to %s: the emulator exited" % path)
        if time.monotonic() >= deadline:
            raise QMPError("cannot connect to %s: %s" % (path, last))
        time.sleep(0.05)


connect_unix = _connect_unix

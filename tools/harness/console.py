"""The serial console: transports, line rendering, reply parsing, Console.

The protocol (docs/console.md, version 1) in one paragraph: after boot and
after every reply the kernel prints the prompt "vigil> " without a newline; a
command is one line ended by CR; characters are echoed; a reply is zero or more
data lines (space-separated key=value tokens) and exactly one status line,
"ok" or "error: <reason>"; kernel log lines start with "[" and may appear
anywhere between them.

Nothing here knows about emulators: a Console reads and writes bytes through a
Transport (a socket, a pipe pair or a tty), so the same code drives QEMU,
Bochs, a real serial line or the fake kernel of the self-tests.
"""

import codecs
import os
import re
import select
import socket
import threading
import time

PROMPT = "vigil> "
MAX_LINE = 255          # longest command the kernel accepts (bytes)

# A kernel panic, in any of the spellings a kernel or firmware may use.  The
# kernel prints "KERNEL PANIC"; "panic:" only counts at the start of a message
# (after an optional log timestamp) so a help line mentioning the word is safe.
PANIC_RE = re.compile(r"KERNEL PANIC|\bPANIC\b|^\s*(?:\[[^\]]*\]\s*)?(?:[Kk]ernel )?panic:")

_CSI_RE = re.compile(r"\x1b\[([0-?]*)([ -/]*)([@-~])")
_ESC_OTHER_RE = re.compile(r"\x1b(?:[()*+][0-9A-Za-z]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


# --------------------------------------------------------------------------
# errors

class ConsoleError(Exception):
    """Base of everything the console raises.  `tail` is the end of the log."""

    def __init__(self, message, tail=""):
        super().__init__(message)
        self.message = message
        self.tail = tail

    def __str__(self):
        return self.message


class ConsoleTimeout(ConsoleError):
    pass


class ConsoleClosed(ConsoleError):
    """The other end went away (the emulator exited)."""


class KernelPanic(ConsoleError):
    pass


class ProtocolError(ConsoleError):
    pass


# --------------------------------------------------------------------------
# transports

class Transport:
    """Bytes in, bytes out.  read() returns b"" on timeout and raises EOFError
    once the peer is gone."""

    def read(self, timeout):
        raise NotImplementedError

    def write(self, data):
        raise NotImplementedError

    def close(self):
        pass


class SocketTransport(Transport):
    def __init__(self, sock):
        self.sock = sock
        self._wlock = threading.Lock()

    def read(self, timeout):
        try:
            r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        except (OSError, ValueError):
            raise EOFError
        if not r:
            return b""
        try:
            data = self.sock.recv(65536)
        except (ConnectionError, OSError):
            raise EOFError
        if not data:
            raise EOFError
        return data

    def write(self, data):
        with self._wlock:
            try:
                self.sock.sendall(data)
            except OSError as e:
                raise EOFError from e

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class FdTransport(Transport):
    """A pair of file descriptors: a pipe pair or a tty opened read/write."""

    def __init__(self, rfd, wfd=None, pace=0.0):
        self.rfd = rfd
        self.wfd = rfd if wfd is None else wfd
        self.pace = pace            # seconds between bytes (real UARTs: no flow control)

    def read(self, timeout):
        try:
            r, _, _ = select.select([self.rfd], [], [], max(0.0, timeout))
        except (OSError, ValueError):
            raise EOFError
        if not r:
            return b""
        try:
            data = os.read(self.rfd, 65536)
        except OSError:
            raise EOFError
        if not data:
            raise EOFError
        return data

    def write(self, data):
        try:
            if self.pace:
                for i in range(len(data)):
                    os.write(self.wfd, data[i:i + 1])
                    time.sleep(self.pace)
            else:
                while data:
                    n = os.write(self.wfd, data)
                    data = data[n:]
        except OSError as e:
            raise EOFError from e

    def close(self):
        # Idempotent: a second os.close() of a number the process has since
        # handed to another file (another job's socket under --jobs) would
        # close that one instead.
        fds, self.rfd, self.wfd = {self.rfd, self.wfd} - {None}, None, None
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass


def open_tty(path, baud=115200):
    """Open a serial device (a USB serial adapter, a pty) raw at `baud` 8N1:
    no echo, no line editing, no CR/NL translation, no flow control, so the
    bytes are exactly the UART's.  `harness.py attach` and serial targets."""
    import termios
    speed = getattr(termios, "B%d" % baud, None)
    if speed is None:
        raise ValueError("unsupported baud rate %r" % baud)
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        attrs = termios.tcgetattr(fd)
    except termios.error as e:
        os.close(fd)
        raise OSError("%s is not a tty: %s" % (path, e))
    iflag, oflag, cflag, lflag, _, _, cc = attrs
    iflag = 0
    oflag = 0
    lflag = 0
    cflag = termios.CS8 | termios.CREAD | termios.CLOCAL
    cc[termios.VMIN] = 0
    cc[termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, speed, speed, cc])
    termios.tcflush(fd, termios.TCIOFLUSH)
    # A real 16550 has a 16-byte FIFO and no flow control: pace our typing.
    return FdTransport(fd, pace=12.0 / baud * 10)


# --------------------------------------------------------------------------
# rendering: what a terminal would show for one line

def render(raw):
    """Render one line of terminal output the way a terminal shows it:
    CR returns to column 0, BS moves left, ESC [ K erases to the end of the
    line, other escape sequences and control characters vanish."""
    if "\x1b" not in raw and "\r" not in raw and "\b" not in raw and raw.isprintable():
        return raw
    buf = []
    cur = 0
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == "\x1b":
            m = _CSI_RE.match(raw, i)
            if m:
                params, final = m.group(1), m.group(3)
                num = int(params) if params.isdigit() else None
                if final == "K":
                    if num in (None, 0):
                        del buf[cur:]
                    elif num == 2:
                        buf = []
                        cur = 0
                elif final == "D":
                    cur = max(0, cur - (num or 1))
                elif final == "C":
                    cur += num or 1
                elif final == "G":
                    cur = max(0, (num or 1) - 1)
                elif final == "J" and num == 2:
                    buf = []
                    cur = 0
                i = m.end()
                continue
            m = _ESC_OTHER_RE.match(raw, i)
            i = m.end() if m else i + 1
            continue
        if ch == "\r":
            cur = 0
        elif ch == "\b":
            cur = max(0, cur - 1)
        elif ch == "\t" or (ch >= " " and ch != "\x7f"):
            if ch == "\t":
                ch = " "
            while len(buf) < cur:
                buf.append(" ")
            if cur < len(buf):
                buf[cur] = ch
            else:
                buf.append(ch)
            cur += 1
        i += 1
    return "".join(buf)


# --------------------------------------------------------------------------
# replies

def classify(line):
    """'log', 'ok', 'error', 'blank' or 'data'."""
    if line.startswith("["):
        return "log"
    s = line.strip()
    if s == "ok":
        return "ok"
    if s.startswith("error:"):
        return "error"
    if not s:
        return "blank"
    return "data"


def parse_record(line):
    """'a=1 b=x' -> {'a': '1', 'b': 'x'}; None unless every token is key=value."""
    tokens = line.split()
    if not tokens:
        return None
    rec = {}
    for tok in tokens:
        key, sep, value = tok.partition("=")
        if not sep or not key:
            return None
        rec[key] = value
    return rec


class Reply:
    """One command's reply, parsed.

    echo     the command line as the kernel echoed it (after line editing)
    lines    data lines, in order (neither log nor status)
    records  the data lines that are all key=value tokens, as dicts
    logs     kernel log lines that arrived during the reply
    status   "ok", "error" or None (missing)
    error    the reason after "error: " (None when ok)
    problems protocol violations found while parsing (empty when well formed)
    """

    def __init__(self, command):
        self.command = command
        self.echo = None
        self.lines = []
        self.records = []
        self.logs = []
        self.status = None
        self.error = None
        self.problems = []
        self.raw = []
        self.elapsed = 0.0

    @property
    def ok(self):
        return self.status == "ok" and not self.problems

    def get(self, key, default=None):
        """The value of `key` in the first record that has it."""
        for rec in self.records:
            if key in rec:
                return rec[key]
        return default

    def find(self, **match):
        """Records whose fields equal every given key=value (values compared as str)."""
        want = {k: str(v) for k, v in match.items()}
        return [r for r in self.records if all(r.get(k) == v for k, v in want.items())]

    def where(self, key):
        """Records that have `key`."""
        return [r for r in self.records if key in r]

    def __repr__(self):
        return "Reply(%r, status=%r, error=%r, records=%d, lines=%d, logs=%d, problems=%r)" % (
            self.command, self.status, self.error, len(self.records), len(self.lines),
            len(self.logs), self.problems)

    def text(self):
        return "\n".join(self.raw)


def parse_reply(lines, command=None, check_echo=True):
    """Parse the rendered lines of one reply: the echo line (starting with the
    prompt) and everything up to, not including, the next prompt."""
    rep = Reply(command)
    rep.raw = list(lines)
    # The echo is the first line that starts with the prompt; log lines may
    # come before it, and line editing (Ctrl-C) may have printed more prompt
    # lines right after it: the last of those holds the command that ran.
    # A log line that arrives while the command line is being typed gets a
    # line of its own and the kernel prints the prompt and what was typed
    # again below it (console_write_resumable()): prompt lines and log lines
    # may alternate before the reply, and the last prompt line holds the
    # command.
    p = PROMPT.rstrip()
    start = 0
    pre_logs = []
    for i, line in enumerate(lines):
        if line.startswith(p):
            rep.echo = line[len(p):].strip()
            start = i + 1
        elif classify(line) == "log":
            pre_logs.append(line)
            start = i + 1
        else:
            break
    rep.logs.extend(pre_logs)
    if not rep.echo and command is not None and start < len(lines) and \
            lines[start].strip() == render(command).strip():
        # A log line printed while the console sat at the prompt ate the
        # prompt (a kernel that does not print it again): the echo stands
        # alone.
        rep.echo = lines[start].strip()
        start += 1
    if rep.echo is None:
        rep.problems.append("no echo of the command line")
    elif check_echo and command is not None:
        want = render(command).strip()
        if want and rep.echo != want and not _is_log_echo(rep.echo):
            rep.problems.append("echo %r differs from the command %r" % (rep.echo, want))
    for line in lines[start:]:
        kind = classify(line)
        if kind == "log":
            rep.logs.append(line)
        elif kind == "blank":
            continue
        elif kind in ("ok", "error"):
            if rep.status is not None:
                rep.problems.append("more than one status line (%r)" % line)
                continue
            rep.status = kind
            if kind == "error":
                rep.error = line.strip()[len("error:"):].strip()
        else:
            if rep.status is not None:
                rep.problems.append("data line after the status line: %r" % line)
            rep.lines.append(line)
            rec = parse_record(line)
            if rec is not None:
                rep.records.append(rec)
    if rep.status is None:
        rep.problems.append("no status line")
    return rep


def _is_log_echo(echo):
    return echo.startswith("[")


# --------------------------------------------------------------------------
# the console

class Console:
    """Drives the console over a Transport and keeps every line it saw.

    Every wait raises ConsoleTimeout, ConsoleClosed or KernelPanic (unless
    allow_panic is set) with the tail of the log attached.
    """

    def __init__(self, transport, log_path=None, time_scale=1.0, on_line=None,
                 panic_grace=3.0):
        self._t = transport
        self._dec = codecs.getincrementaldecoder("utf-8")("replace")
        self.lines = []              # completed, rendered lines
        self._partial = ""           # raw text of the line in progress
        self._log = open(log_path, "ab", buffering=0) if log_path else None
        self.log_path = log_path
        self.time_scale = time_scale
        self.on_line = on_line
        self.panic_grace = panic_grace
        self.closed = False
        self._released = False      # close() done: transport and log given back
        self.allow_panic = False
        self.panic_index = None      # index in lines of the first panic line
        self.boot_lines = None       # lines before the first prompt
        self.first_prompt_at = None  # monotonic time of the first prompt
        self.started_at = time.monotonic()
        self.bytes_in = 0
        self.last_rx = self.started_at
        self._cursor = 0             # expect() searches from here
        self._pending_notes = []     # annotations waiting for a line boundary
        self._mark = None            # len(lines) when the last command was sent
        # Prompts are counted once each, whether they are still the line in
        # progress or were completed (by our echo, or by a log line printed
        # while the console sat at the prompt).
        self.prompts = 0             # prompts seen so far
        self.prompt_lines = set()    # indices in lines of completed prompt lines
        self._partial_prompt = False # the line in progress is a prompt already counted
        self._sent_at = 0            # self.prompts when the last thing was sent

    # -- low level ---------------------------------------------------------

    def close(self):
        if self._released:
            return          # the transport's descriptor may be another file's by now
        self._released = True
        self.closed = True
        if self._log:
            if self._pending_notes:
                self._log.write(b"\n" + b"".join(self._pending_notes))
                self._pending_notes = []
            self._log.close()
            self._log = None
        try:
            self._t.close()
        except OSError:
            pass

    def note(self, text):
        """Write a harness annotation into the serial log, on a line of its
        own ("### harness: ..."), at the next line boundary so that it never
        splits a line of the kernel's output."""
        if not self._log:
            return
        line = ("### harness: %s\n" % text).encode()
        if self._partial:
            self._pending_notes.append(line)
        else:
            self._log.write(line)

    def feed(self, data):
        """Account for bytes received (the read loop calls this; tests may too)."""
        if not data:
            return
        self.bytes_in += len(data)
        self.last_rx = time.monotonic()
        if self._log:
            nl = data.find(b"\n") if self._pending_notes else -1
            if nl >= 0:
                self._log.write(data[:nl + 1] + b"".join(self._pending_notes) + data[nl + 1:])
                self._pending_notes = []
            else:
                self._log.write(data)
        text = self._partial + self._dec.decode(data)
        parts = text.split("\n")
        self._partial = parts[-1]
        for raw in parts[:-1]:
            line = render(raw).rstrip()
            if (line + " ").startswith(PROMPT):
                if self.boot_lines is None:
                    # The first prompt, already followed by more (one chunk).
                    self.boot_lines = list(self.lines)
                    self.first_prompt_at = self.last_rx
                if not self._partial_prompt:
                    self.prompts += 1
                self.prompt_lines.add(len(self.lines))
            self._partial_prompt = False
            self.lines.append(line)
            if self.panic_index is None and PANIC_RE.search(line):
                self.panic_index = len(self.lines) - 1
            if self.on_line:
                self.on_line(line)
        if self.at_prompt and not self._partial_prompt:
            self._partial_prompt = True
            self.prompts += 1
            if self.boot_lines is None:
                self.boot_lines = list(self.lines)
                self.first_prompt_at = self.last_rx

    def _pump(self, timeout):
        """Read what is there (waiting at most `timeout`)."""
        if self.closed:
            return False
        try:
            data = self._t.read(timeout)
        except EOFError:
            self.closed = True
            tail = self._dec.decode(b"", final=True)
            if tail:
                self._partial += tail
            if self._partial:
                self.lines.append(render(self._partial).rstrip())
                self._partial = ""
            return False
        self.feed(data)
        return bool(data)

    def write(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        if self.closed:
            raise ConsoleClosed("console closed before sending %r" % data, self.tail())
        try:
            self._t.write(data)
        except EOFError:
            self.closed = True
            raise ConsoleClosed("console closed while sending %r" % data, self.tail())

    @property
    def partial(self):
        return render(self._partial)

    @property
    def at_prompt(self):
        return self.partial.endswith(PROMPT)

    def tail(self, n=40):
        lines = self.lines[-n:]
        if self._partial:
            lines = lines + [self.partial]
        return "\n".join(lines)

    def text(self, start=0):
        return "\n".join(self.lines[start:] + ([self.partial] if self._partial else []))

    def scaled(self, seconds):
        return seconds * self.time_scale

    def _check_panic(self):
        if self.panic_index is None or self.allow_panic:
            return
        # Give the kernel a moment to finish the backtrace.
        deadline = time.monotonic() + self.scaled(self.panic_grace)
        while not self.closed and time.monotonic() < deadline:
            if not self._pump(0.2) and time.monotonic() - self.last_rx > 1.0:
                break
        first = self.lines[self.panic_index] if self.panic_index < len(self.lines) else ""
        raise KernelPanic("kernel panic: %s" % first.strip(),
                          "\n".join(self.lines[max(0, self.panic_index - 10):]))

    def wait_until(self, predicate, timeout, what, progress=None, progress_every=30.0):
        """Read until predicate() holds.  Raises on timeout, close or panic."""
        start = time.monotonic()
        deadline = start + timeout
        next_progress = start + progress_every
        while True:
            self._check_panic()
            if predicate():
                return
            if self.closed:
                raise ConsoleClosed("console closed while waiting for %s" % what, self.tail())
            now = time.monotonic()
            if now >= deadline:
                raise ConsoleTimeout("timeout after %.0fs waiting for %s" % (timeout, what),
                                     self.tail())
            if progress and now >= next_progress:
                progress(now - start, self)
                next_progress = now + progress_every
            self._pump(min(deadline - now, 0.5, max(0.0, next_progress - now) + 0.01))

    # -- the protocol ------------------------------------------------------

    def wait_boot(self, timeout, progress=None):
        """Wait for the first prompt; returns the boot log (lines before it)."""
        self.wait_until(lambda: self.boot_lines is not None, timeout, "the first prompt %r" % PROMPT,
                        progress=progress)
        self._cursor = len(self.boot_lines)
        return self.boot_lines

    @property
    def ready(self):
        """A prompt was printed after the last thing we sent."""
        return self.prompts > self._sent_at

    def wait_prompt(self, timeout=None):
        """Wait for a prompt printed after the last thing we sent."""
        timeout = self.scaled(30) if timeout is None else timeout
        self.wait_until(lambda: self.ready, timeout, "the prompt")

    def send(self, data):
        """Send raw bytes or text (nothing appended); returns the line mark
        (expect() searches from there on)."""
        self._mark = len(self.lines)
        self._cursor = self._mark
        self._sent_at = self.prompts
        self.write(data)
        return self._mark

    def read_reply(self, mark, command=None, timeout=None, check_echo=True, need_status=True):
        """Read the reply to what was last sent (at line `mark`, see send()):
        up to the first prompt after a status line."""
        timeout = self.scaled(30) if timeout is None else timeout
        t0 = time.monotonic()
        state = {"settle": None, "end": None}
        sent_at = self._sent_at

        def status_index():
            for i in range(mark, len(self.lines)):
                if i not in self.prompt_lines and classify(self.lines[i]) in ("ok", "error"):
                    return i
            return None

        def done():
            if self.prompts <= sent_at:
                state["settle"] = None
                return False
            st = status_index()
            if st is not None:
                state["end"] = next((i for i in sorted(self.prompt_lines) if i > st),
                                    len(self.lines))
                return True
            if not need_status:
                state["end"] = next((i for i in sorted(self.prompt_lines) if i > mark),
                                    len(self.lines))
                return True
            # A prompt but no status line: a protocol violation, unless more
            # is coming.  Settle for a moment before giving up.
            now = time.monotonic()
            if state["settle"] is None:
                state["settle"] = now
            if now - state["settle"] > self.scaled(1.0):
                state["end"] = len(self.lines)
                return True
            return False

        self.wait_until(done, timeout, "the reply to %r" % (command if command is not None else "input"))
        rep = parse_reply(self.lines[mark:state["end"]], command, check_echo=check_echo)
        rep.elapsed = time.monotonic() - t0
        return rep

    def cmd(self, line, timeout=None, check_echo=None):
        """Type one command line and return its parsed Reply."""
        if "\r" in line or "\n" in line:
            raise ValueError("one line at a time: %r" % line)
        timeout = self.scaled(30) if timeout is None else timeout
        if not self.ready:
            self.wait_prompt(timeout)
        if check_echo is None:
            check_echo = len(line.encode()) <= MAX_LINE and line.isprintable()
        mark = self.send(line + "\r")
        return self.read_reply(mark, line, timeout=timeout, check_echo=check_echo,
                               need_status=bool(line.strip()))

    def expect(self, pattern, timeout=None, since=None):
        """Wait for a line matching the regex `pattern`; returns the match.
        The search starts at the line where the last thing was sent (or after
        the previous expect() match, or after the boot log), or at `since`."""
        timeout = self.scaled(30) if timeout is None else timeout
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        found = {}
        start = self._cursor if since is None else since

        def look():
            for i in range(found.get("next", start), len(self.lines)):
                m = rx.search(self.lines[i])
                if m:
                    found["m"] = m
                    found["i"] = i
                    return True
            found["next"] = len(self.lines)
            return False

        self.wait_until(look, timeout, "a line matching %r" % rx.pattern)
        self._cursor = found["i"] + 1
        return found["m"]

    def search(self, pattern, start=0):
        """Lines seen so far (from `start`) that match `pattern`."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        return [l for l in self.lines[start:] if rx.search(l)]

    def drain(self, seconds):
        """Keep reading for `seconds` (or until closed)."""
        end = time.monotonic() + seconds
        while not self.closed and time.monotonic() < end:
            self._pump(min(0.2, end - time.monotonic()))

    def wait_closed(self, timeout):
        """Read until the other end closes (the machine stopped)."""
        self.wait_until(lambda: self.closed, timeout, "the machine to stop")

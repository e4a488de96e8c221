"""A fake vigil kernel speaking console protocol v1 over a socket, in a thread.

It exists so the harness can be tested without an emulator: the Console, the
runner and the scenario API all run against it.  Behaviour knobs:

    ncpus        CPUs listed by `cpus`
    boot_log     lines printed (with timestamps) before the first prompt
    chatty       print a kernel log line in the middle of every reply
    crlf         end lines with CRLF (as the real kernel does) or LF
    escapes      prefix the boot output with firmware-style ANSI escapes
    hang_on      commands that never get a reply
    boot_delay   seconds before the boot output
    silent       never print a prompt (boot timeout)
    aps_online   `cpus` reports every CPU online (else only the boot CPU)

Commands: help, version, cpus, check, bench, log, panic, poweroff, hang, and
anything else gets "error: unknown command '<word>' (try 'help')".
"""

import socket
import threading
import time


class FakeKernel:
    def __init__(self, ncpus=1, boot_log=None, chatty=False, crlf=True, escapes=True,
                 hang_on=(), boot_delay=0.0, silent=False, extra_commands=None, aps_online=False):
        self.ncpus = ncpus
        self.boot_log = boot_log if boot_log is not None else ["vigil fake booting",
                                                                 "smp: %d possible CPUs" % ncpus]
        self.chatty = chatty
        self.nl = "\r\n" if crlf else "\n"
        self.escapes = escapes
        self.hang_on = set(hang_on)
        self.boot_delay = boot_delay
        self.silent = silent
        self.extra = extra_commands or {}
        self.aps_online = aps_online
        self.commands = []           # command lines received, in order
        self.powered_off = False
        self.panicked = False
        self.host, self.sock = socket.socketpair()
        self.stopped = threading.Event()      # set to end a hang or a silent boot
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._main, daemon=True, name="fake-kernel")

    def start(self):
        self._thread.start()
        return self.host

    def join(self, timeout=5.0):
        self._thread.join(timeout)

    # -- output --------------------------------------------------------------

    def out(self, text):
        try:
            self.sock.sendall(text.replace("\n", self.nl).encode())
        except OSError:
            pass

    def log(self, msg):
        t = time.monotonic() - self._t0
        self.out("[%5d.%06d] %s\n" % (int(t), int((t % 1) * 1e6), msg))

    def log_at_prompt(self, msg, style):
        """A kernel log line while the console sits at the prompt (call it
        from the test thread when the kernel is idle).  style: "reprint"
        (erase the prompt, log, reprint it), "bare" (newline, log, no new
        prompt) or "inline" (the log right after the prompt, no new prompt)."""
        if style == "reprint":
            self.out("\r\x1b[K")
            self.log(msg)
            self.out("vigil> ")
        elif style == "bare":
            self.out("\n")
            self.log(msg)
        else:
            self.log(msg)

    # -- the shell -------------------------------------------------------------

    def _main(self):
        try:
            self._run()
        except OSError:
            pass
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def _run(self):
        if self.boot_delay:
            time.sleep(self.boot_delay)
        if self.escapes:
            self.out("\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: starting Boot0001\n")
        for line in self.boot_log:
            self.log(line)
        if self.silent:
            self.stopped.wait(3600)
            return
        self.out("vigil> ")
        buf = ""
        toolong = False
        while True:
            data = self.sock.recv(4096)
            if not data:
                return
            for ch in data.decode("latin-1"):
                if ch in "\r\n":
                    self.out("\n")
                    if toolong:
                        self.out("error: line too long (max 255 bytes)\n")
                    elif not self._command(buf):
                        return
                    buf = ""
                    toolong = False
                    self.out("vigil> ")
                elif ch in "\x08\x7f":
                    if buf:
                        buf = buf[:-1]
                        self.out("\b \b")
                elif ch == "\x15":
                    self.out("\b \b" * len(buf))
                    buf = ""
                elif ch == "\x03":
                    self.out("^C\n")
                    buf = ""
                    toolong = False
                    self.out("vigil> ")
                elif ch >= " ":
                    if len(buf) >= 255:
                        toolong = True
                    else:
                        buf += ch
                        self.out(ch)

    def _command(self, line):
        """Run one command; False stops the kernel."""
        line = line.strip()
        if not line:
            return True
        self.commands.append(line)
        word = line.split()[0]
        if line in self.hang_on or word in self.hang_on:
            self.stopped.wait(3600)
            return False
        if word in self.extra:
            self.out(self.extra[word](line))
            return True
        if word == "help":
            if self.chatty:
                self.log("a log line in the middle of help")
            self.out("help\nversion\ncpus\ncheck\nbench [all or <name>]\npoweroff\nok\n")
        elif word == "version":
            self.out("version=1.2.3 commit=0123abc arch=x86_64\n")
            if self.chatty:
                self.log("a log line before the status")
            self.out("ok\n")
        elif word == "cpus":
            for i in range(self.ncpus):
                self.out("cpu=%d apic=%d state=%s virt=off compat=ok\n" % (
                    i, i * 2, "online" if i == 0 or self.aps_online else "offline"))
                if self.chatty and i == 0:
                    self.log("cpu1: a log line between records")
            self.out("online=%d possible=%d\nok\n" % (
                self.ncpus if self.aps_online else 1, self.ncpus))
        elif word == "check":
            self.out("ok\n")
        elif word == "bench":
            self.out("bench=ipi median=1200 min=1100 max=1500 unit=ns samples=100\n"
                     "bench=vmxon median=35 min=30 max=44 unit=us samples=20\nok\n")
        elif word == "log":
            self.log("asked for a log line")
            self.out("ok\n")
        elif word == "panic":
            self.panicked = True
            self.out("KERNEL PANIC: requested from the console\n")
            self.log("backtrace: frame0+0x10")
            self.log("backtrace: frame1+0x20")
            return False
        elif word == "poweroff":
            self.powered_off = True
            self.log("poweroff")
            return False
        else:
            self.out("error: unknown command '%s' (try 'help')\n" % word)
        return True

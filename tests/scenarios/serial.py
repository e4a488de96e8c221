"""The harness on a serial line, without hardware: QEMU boots the stick image
with its serial port on a pty (-serial pty), and the harness opens that pty
exactly as it opens a USB serial adapter (termios raw, 115200 8N1).  A cooked
pty would echo what the harness types and turn CR into NL, so the console
protocol itself checks the raw mode.

Then the line is handed to the harness's own command line, as in the lab:
`check --target serial:<pty>` against a machine that is first stopped (the
harness asks for a power cycle, which the scenario then does through QMP, as
a person would press reset) and then at its prompt (the harness reboots it
for a fresh boot), and `attach --tty <pty>`, a person typing `version`."""

import os
import re
import subprocess
import sys
import threading
import time

from harness.scenario import scenario
from _targets import PTY

HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                       "harness.py")
SCENARIOS = os.path.dirname(os.path.abspath(__file__))


def _harness(s, *argv, **kw):
    cmd = [sys.executable, HARNESS, "--build", s.machine.build, "--logs", s.machine.log_dir]
    return subprocess.Popen(cmd + list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            **kw)


def _collect(stream, lines, on_line=None):
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        lines.append(line)
        if on_line:
            on_line(line)


@scenario(targets=[PTY], timeout=900)
def serial_line(s):
    """The console over a raw pty; `check --target serial:` through a power
    cycle and a reboot; `attach --tty`."""
    pty = s.machine.pty_path
    s.check(pty and pty.startswith("/dev/"), "QEMU named no pty: %r" % pty)
    s.eq(s.ok("version").records[0].get("arch"), "x86_64", "arch over the pty")

    # The machine "hangs" (QMP stop): the harness's probe gets no prompt and
    # it asks for a power cycle; reset it then, as a person would.
    s.ok("check")
    s.con.close()
    s.qmp.command("stop")
    asked = threading.Event()
    out, err = [], []

    def on_err(line):
        if "power the machine on" in line and not asked.is_set():
            asked.set()
    p = _harness(s, "check", "--target", "serial:%s" % pty, "--only", "basic.boot",
                 "--only", "basic.version", "--only", "basic.cpus", "--only", "selftest_errors",
                 SCENARIOS)
    threads = [threading.Thread(target=_collect, args=(p.stdout, out), daemon=True),
               threading.Thread(target=_collect, args=(p.stderr, err, on_err), daemon=True)]
    for t in threads:
        t.start()
    try:
        s.check(asked.wait(s.scaled(60)), "the harness did not ask for a power cycle",
                "\n".join(err))
        s.qmp.command("system_reset")
        s.qmp.command("cont")
        rc = p.wait(s.scaled(600))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for t in threads:
            t.join(5)
    report = "\n".join(out + ["--- stderr"] + err)
    s.eq(rc, 0, "exit status of check --target serial:%s" % pty)
    s.check("harness: 4 passed, 0 failed" in out, "not all 4 scenarios passed", report)
    s.check(any("rebooting it for a fresh boot" in l for l in err),
            "the second boot unit did not reboot the machine at its prompt", report)
    for name in ("boot", "version", "cpus", "selftest_errors"):
        s.check(any(re.match(r"ok \d+ - %s \(serial %s\)" % (name, re.escape(pty)), l)
                    for l in out), "no 'ok' line for %s" % name, report)

    # attach: a person types `version` and Ctrl-].
    p = _harness(s, "attach", "--tty", pty, stdin=subprocess.PIPE)
    out, err = [], []
    seen = threading.Event()

    def on_out(line):
        if "arch=x86_64" in line:
            seen.set()
    threads = [threading.Thread(target=_collect, args=(p.stdout, out, on_out), daemon=True),
               threading.Thread(target=_collect, args=(p.stderr, err), daemon=True)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        p.stdin.write(b"version\r")
        p.stdin.flush()
        s.check(seen.wait(s.scaled(30)), "attach: no reply to version",
                "\n".join(out + ["--- stderr"] + err))
        p.stdin.write(b"\x1d")
        p.stdin.flush()
        rc = p.wait(s.scaled(30))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for t in threads:
            t.join(5)
    s.eq(rc, 0, "exit status of attach")
    log = os.path.join(s.machine.log_dir, "attach-serial-%s.log" % os.path.basename(pty))
    with open(log, "rb") as f:
        logged = f.read().decode("utf-8", "replace")
    s.check(re.search(r"version=\S+ commit=\S+ arch=x86_64", logged), "attach log %s lacks the "
            "version reply" % log, logged[-2000:])

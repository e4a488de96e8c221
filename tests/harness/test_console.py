"""The console: line rendering, the reply parser and the Console driver."""

import os
import socket
import tempfile
import time
import unittest

import harnesspath  # noqa: F401
from harness.console import (Console, ConsoleClosed, ConsoleTimeout, KernelPanic, PANIC_RE,
                             SocketTransport, classify, parse_record, parse_reply, render)

from fakekernel import FakeKernel


class RenderTest(unittest.TestCase):
    def test_plain(self):
        self.assertEqual(render("ok"), "ok")

    def test_crlf(self):
        self.assertEqual(render("ok\r"), "ok")

    def test_backspace_echo(self):
        # The kernel echoes BS as "\b \b"; the terminal shows "help".
        self.assertEqual(render("vigil> hex\b \blp").rstrip(), "vigil> help")

    def test_ctrl_u_by_backspaces(self):
        self.assertEqual(render("vigil> abc\b \b\b \b\b \bversion").rstrip(), "vigil> version")

    def test_ctrl_u_by_redraw(self):
        self.assertEqual(render("vigil> garbage\r\x1b[Kvigil> version"), "vigil> version")

    def test_firmware_escapes(self):
        self.assertEqual(render("\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: starting"), "BdsDxe: starting")

    def test_colour(self):
        self.assertEqual(render("\x1b[1;31merror\x1b[0m: x"), "error: x")

    def test_other_controls_vanish(self):
        self.assertEqual(render("a\x07b\x00c"), "abc")


class ClassifyTest(unittest.TestCase):
    def test_kinds(self):
        self.assertEqual(classify("[    0.123456] cpu1: online"), "log")
        self.assertEqual(classify("ok"), "ok")
        self.assertEqual(classify("error: unknown command 'x' (try 'help')"), "error")
        self.assertEqual(classify("ok 1 - selftest_name"), "data")      # KTAP, not a status
        self.assertEqual(classify("not ok 2 - other"), "data")
        self.assertEqual(classify("cpu=0 apic=0"), "data")
        self.assertEqual(classify(""), "blank")

    def test_records(self):
        self.assertEqual(parse_record("a=1 b=x  c="), {"a": "1", "b": "x", "c": ""})
        self.assertIsNone(parse_record("cpu online <n>"))
        self.assertIsNone(parse_record("=x"))
        self.assertIsNone(parse_record(""))


class ParseReplyTest(unittest.TestCase):
    def test_version(self):
        r = parse_reply(["vigil> version", "version=0.1.0 commit=abc1234 arch=x86_64", "ok"],
                        "version")
        self.assertTrue(r.ok)
        self.assertEqual(r.echo, "version")
        self.assertEqual(r.records, [{"version": "0.1.0", "commit": "abc1234", "arch": "x86_64"}])
        self.assertEqual(r.get("arch"), "x86_64")
        self.assertEqual(r.problems, [])

    def test_multi_record_with_interleaved_logs(self):
        lines = [
            "vigil> cpus",
            "cpu=0 apic=0 state=online virt=off compat=ok",
            "[    1.000001] cpu1: starting",
            "cpu=1 apic=2 state=offline virt=off compat=ok",
            "cpu=2 apic=4 state=failed virt=off compat=cr4-mismatch",
            "[    1.000002] cpu2: failed",
            "online=1 possible=3",
            "ok",
            "[    1.000003] a log line after the status",
        ]
        r = parse_reply(lines, "cpus")
        self.assertTrue(r.ok, r.problems)
        self.assertEqual(len(r.records), 4)
        self.assertEqual(len(r.logs), 3)
        self.assertEqual([c["cpu"] for c in r.where("cpu")], ["0", "1", "2"])
        self.assertEqual(r.find(state="failed")[0]["compat"], "cr4-mismatch")
        self.assertEqual(r.get("possible"), "3")
        self.assertEqual(r.find(cpu=1)[0]["apic"], "2")

    def test_error(self):
        r = parse_reply(["vigil> frob", "error: unknown command 'frob' (try 'help')"], "frob")
        self.assertEqual(r.status, "error")
        self.assertEqual(r.error, "unknown command 'frob' (try 'help')")
        self.assertFalse(r.ok)
        self.assertEqual(r.problems, [])

    def test_help_lines_are_not_records(self):
        r = parse_reply(["vigil> help", "help", "cpu online <n>", "vm run <id> [cpu=<n>]", "ok"],
                        "help")
        self.assertTrue(r.ok)
        self.assertEqual(r.lines, ["help", "cpu online <n>", "vm run <id> [cpu=<n>]"])
        self.assertEqual(r.records, [])

    def test_ktap_output_is_data(self):
        r = parse_reply(["vigil> selftest all", "KTAP version 1", "1..2", "ok 1 - a",
                         "not ok 2 - b", "ok"], "selftest all")
        self.assertEqual(r.status, "ok")
        self.assertEqual(len(r.lines), 4)
        self.assertEqual(r.problems, [])

    def test_two_status_lines(self):
        r = parse_reply(["vigil> x", "ok", "ok"], "x")
        self.assertIn("more than one status line", r.problems[0])
        self.assertFalse(r.ok)

    def test_missing_status(self):
        r = parse_reply(["vigil> x", "a=1"], "x")
        self.assertIn("no status line", r.problems)

    def test_data_after_status(self):
        r = parse_reply(["vigil> x", "ok", "a=1"], "x")
        self.assertTrue(any("after the status" in p for p in r.problems))

    def test_log_line_breaks_the_prompt(self):
        # The kernel broke the prompt line for a log line and printed the
        # prompt and the typed text again below it.
        lines = ["vigil> ", "[    2.000001] vm 1: guest memory error", "vigil> vm stat 1",
                 "vm=1 state=running", "ok"]
        r = parse_reply(lines, "vm stat 1")
        self.assertTrue(r.ok, r.problems)
        self.assertEqual(r.echo, "vm stat 1")
        self.assertEqual(r.logs, ["[    2.000001] vm 1: guest memory error"])
        self.assertEqual(r.records, [{"vm": "1", "state": "running"}])

    def test_log_line_breaks_the_typed_line(self):
        lines = ["vigil> vm st", "[    2.000001] one", "vigil> vm st", "[    2.000002] two",
                 "vigil> vm stat 1", "ok"]
        r = parse_reply(lines, "vm stat 1")
        self.assertTrue(r.ok, r.problems)
        self.assertEqual(r.echo, "vm stat 1")
        self.assertEqual(len(r.logs), 2)

    def test_log_line_after_bare_prompt_then_lone_echo(self):
        r = parse_reply(["vigil> ", "[    2.000001] x", "vm stat 1", "ok"], "vm stat 1")
        self.assertTrue(r.ok, r.problems)
        self.assertEqual(r.echo, "vm stat 1")

    def test_bare_prompt_is_not_the_echo(self):
        r = parse_reply(["vigil> ", "[    2.000001] x", "ok"], "vm stat 1")
        self.assertTrue(any("echo" in p for p in r.problems), r.problems)

    def test_no_echo(self):
        r = parse_reply(["ok"], "x")
        self.assertIn("no echo of the command line", r.problems)

    def test_echo_mismatch(self):
        r = parse_reply(["vigil> versoin", "error: unknown command 'versoin' (try 'help')"],
                        "version")
        self.assertTrue(any("echo" in p for p in r.problems))

    def test_echo_after_editing(self):
        r = parse_reply([render("vigil> hex\b \blp").rstrip(), "help", "ok"], "hex\blp")
        self.assertEqual(r.echo, "help")
        self.assertEqual(r.problems, [])

    def test_logs_before_the_echo(self):
        r = parse_reply(["[    1.0] cpu1: online", "vigil> version",
                         "version=1.0.0 commit=a arch=x86_64", "ok"], "version")
        self.assertEqual(r.problems, [])
        self.assertEqual(r.logs, ["[    1.0] cpu1: online"])

    def test_echo_without_prompt(self):
        r = parse_reply(["version", "version=1.0.0 commit=a arch=x86_64", "ok"], "version")
        self.assertEqual(r.problems, [])
        self.assertEqual(r.echo, "version")

    def test_echo_is_last_prompt_line(self):
        # Ctrl-C printed "^C" and a fresh prompt before the real command.
        r = parse_reply(["vigil> garbage^C", "vigil> version", "version=1.0.0 commit=a arch=x86_64",
                         "ok"], None)
        self.assertEqual(r.echo, "version")
        self.assertEqual(len(r.records), 1)


class PanicPatternTest(unittest.TestCase):
    def test_panics(self):
        for line in ["KERNEL PANIC: BUG_ON(x) at core/a.c:3", "[    1.0] KERNEL PANIC - not syncing",
                     "panic: double fault", "[    2.000000] panic: oops", "*** PANIC ***"]:
            self.assertTrue(PANIC_RE.search(line), line)

    def test_not_panics(self):
        for line in ["help", "inject panic_on_warn=1", "selftest: no_panic ok",
                     "[    1.0] lockdep: panicky name"]:
            self.assertFalse(PANIC_RE.search(line), line)


class ConsoleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="harness-test-")
        self.log = os.path.join(self.tmp, "serial.log")
        self.cons = []

    def tearDown(self):
        for c in self.cons:
            c.close()
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def boot(self, **kw):
        k = FakeKernel(**kw)
        con = Console(SocketTransport(k.start()), log_path=self.log)
        self.cons.append(con)
        con.wait_boot(5)
        return k, con

    def test_boot_and_commands(self):
        k, con = self.boot(ncpus=4)
        self.assertTrue(any("vigil fake booting" in l for l in con.boot_lines))
        self.assertTrue(any(l.startswith("BdsDxe") for l in con.boot_lines))  # escapes stripped
        r = con.cmd("version")
        self.assertTrue(r.ok, r)
        self.assertEqual(r.get("version"), "1.2.3")
        r = con.cmd("cpus")
        self.assertTrue(r.ok, r)
        self.assertEqual(len(r.where("cpu")), 4)
        self.assertEqual(r.get("possible"), "4")
        self.assertEqual(k.commands, ["version", "cpus"])

    def test_chatty_kernel(self):
        k, con = self.boot(ncpus=2, chatty=True)
        for c in ("help", "version", "cpus"):
            r = con.cmd(c)
            self.assertTrue(r.ok, r)
            self.assertEqual(len(r.logs), 1, r.raw)
        self.assertEqual(r.get("online"), "1")

    def test_lf_only_kernel(self):
        k, con = self.boot(crlf=False, escapes=False)
        self.assertTrue(con.cmd("version").ok)

    def test_error_reply(self):
        k, con = self.boot()
        r = con.cmd("frobnicate 1 2")
        self.assertEqual(r.status, "error")
        self.assertEqual(r.error, "unknown command 'frobnicate' (try 'help')")
        self.assertEqual(r.problems, [])

    def test_long_line(self):
        k, con = self.boot()
        r = con.cmd("version " + "x" * 292)
        self.assertEqual(r.status, "error")
        self.assertIn("too long", r.error)
        self.assertEqual(r.problems, [])        # echo check is off for over-long lines
        self.assertTrue(con.cmd("version").ok)  # and the console still works

    def test_editing(self):
        k, con = self.boot()
        r = con.read_reply(con.send("hex\x08lp\r"), "help")
        self.assertEqual((r.echo, r.status), ("help", "ok"))
        r = con.read_reply(con.send("garbage\x15version\r"), "version")
        self.assertEqual((r.echo, r.status), ("version", "ok"))
        mark = con.send("frob\x03")
        con.wait_prompt(5)
        self.assertIn("^C", con.lines[mark])
        r = con.cmd("version")
        self.assertTrue(r.ok, r)
        self.assertEqual(k.commands, ["help", "version", "version"])

    def test_empty_line(self):
        k, con = self.boot()
        r = con.cmd("")
        self.assertIsNone(r.status)
        self.assertTrue(con.cmd("version").ok)

    def test_timeout(self):
        k, con = self.boot(hang_on=["hang"])
        t0 = time.monotonic()
        with self.assertRaises(ConsoleTimeout) as cm:
            con.cmd("hang", timeout=0.5)
        self.assertLess(time.monotonic() - t0, 3)
        self.assertIn("hang", cm.exception.tail)

    def test_boot_timeout(self):
        k = FakeKernel(silent=True)
        con = Console(SocketTransport(k.start()))
        self.cons.append(con)
        with self.assertRaises(ConsoleTimeout):
            con.wait_boot(0.5)

    def test_panic(self):
        k, con = self.boot()
        con.panic_grace = 0.5
        with self.assertRaises(KernelPanic) as cm:
            con.cmd("panic")
        self.assertIn("KERNEL PANIC", str(cm.exception))
        self.assertIn("frame1", cm.exception.tail)      # the backtrace was collected

    def test_panic_allowed(self):
        k, con = self.boot()
        con.allow_panic = True
        con.send("panic\r")
        con.expect("KERNEL PANIC", timeout=5)
        con.wait_closed(5)
        self.assertTrue(con.closed)

    def test_closed(self):
        k, con = self.boot()
        con.send("poweroff\r")
        with self.assertRaises(ConsoleClosed):
            con.wait_prompt(5)
        self.assertTrue(k.powered_off)

    def test_log_lines_at_the_prompt(self):
        for style in ("reprint", "bare", "inline"):
            k, con = self.boot()
            con.cmd("version")
            k.log_at_prompt("cpu3: online", style)
            con.expect("cpu3: online", timeout=2)
            r = con.cmd("version")
            self.assertTrue(r.ok, (style, r, r.raw))
            self.assertEqual(r.echo, "version", style)
            r = con.cmd("cpus")
            self.assertTrue(r.ok, (style, r, r.raw))

    def test_log_file_is_raw(self):
        k, con = self.boot()
        con.cmd("version")
        con.close()
        with open(self.log, "rb") as f:
            data = f.read()
        self.assertIn(b"\x1b[2J", data)
        self.assertIn(b"vigil> version\r\n", data)

    def test_notes_never_split_a_line(self):
        k, con = self.boot()
        con.note("scenario x begins")          # the console is at the prompt
        con.cmd("version")
        con.note("between")
        con.close()
        with open(self.log, "rb") as f:
            data = f.read()
        self.assertIn(b"vigil> version\r\n### harness: scenario x begins\n", data)
        self.assertTrue(data.endswith(b"vigil> \n### harness: between\n"), data[-40:])

    def test_expect(self):
        k, con = self.boot()
        con.cmd("log")
        m = con.expect(r"asked for (a) log line", timeout=1)
        self.assertEqual(m.group(1), "a")
        self.assertEqual(con.search(r"asked for")[0][-len("asked for a log line"):],
                         "asked for a log line")


class FeedTest(unittest.TestCase):
    """Bytes arrive in arbitrary pieces: the result must not depend on it."""

    STREAM = ("\x1b[2J\x1b[01;01H\u00e9t\u00e9\r\n[    0.1] boot\r\nvigil> hex\b \blp\r\n"
              "help\r\nok\r\nvigil> ").encode("utf-8")

    class Null:
        def read(self, timeout):
            return b""

        def write(self, data):
            pass

        def close(self):
            pass

    def feed_in(self, size):
        con = Console(self.Null())
        for i in range(0, len(self.STREAM), size):
            con.feed(self.STREAM[i:i + size])
        return con

    def test_chunking(self):
        whole = self.feed_in(len(self.STREAM))
        for size in (1, 2, 3, 7):
            con = self.feed_in(size)
            self.assertEqual(con.lines, whole.lines, size)
            self.assertTrue(con.at_prompt)
        self.assertEqual(whole.lines, ["\u00e9t\u00e9", "[    0.1] boot", "vigil> help", "help",
                                       "ok"])
        self.assertEqual(whole.boot_lines, ["\u00e9t\u00e9", "[    0.1] boot"])


class TransportTest(unittest.TestCase):
    def test_eof(self):
        a, b = socket.socketpair()
        t = SocketTransport(a)
        b.sendall(b"x")
        self.assertEqual(t.read(1), b"x")
        self.assertEqual(t.read(0.05), b"")
        b.close()
        with self.assertRaises(EOFError):
            t.read(1)
        t.close()


if __name__ == "__main__":
    unittest.main()


class CloseTwiceTest(unittest.TestCase):
    """A second close must not close a descriptor number the process has
    since given to another file (under --jobs, another job's console)."""

    def test_fd_transport_close_is_idempotent(self):
        from harness.console import FdTransport
        r, w = os.pipe()
        t = FdTransport(r, w)
        t.close()
        r2, w2 = os.pipe()          # likely reuses the numbers just freed
        try:
            t.close()
            os.write(w2, b"x")
            self.assertEqual(os.read(r2, 1), b"x")
        finally:
            os.close(r2)
            os.close(w2)

    def test_console_close_is_idempotent(self):
        from harness.console import FdTransport
        r, w = os.pipe()
        con = Console(FdTransport(r, w))
        con.close()
        r2, w2 = os.pipe()
        try:
            con.close()
            os.write(w2, b"y")
            self.assertEqual(os.read(r2, 1), b"y")
        finally:
            os.close(r2)
            os.close(w2)

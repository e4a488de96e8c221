"""The harness fails a scenario whose part of the console log holds a kernel
report (BUG:, WARNING:, a lockdep report) it did not declare; planted lockdep
reports (the kernel's own 'expected' mark) and declared ones pass."""

import os
import shutil
import tempfile
import textwrap
import unittest

import harnesspath  # noqa: F401
from harness.reports import find_unexpected
from harness.runner import Runner, plan
from harness.scenario import load_scenarios

from fakemachine import FakeMachine

BANNER = "[    1.000000] lockdep: ======================================================"


def lockdep_block(title, planted):
    lines = [BANNER, "[    1.000001] lockdep: %s" % title]
    if planted:
        lines.append("[    1.000002] lockdep: (expected: planted by a self-test, not counted as a violation)")
    lines += ["[    1.000003] lockdep: task x/3 on cpu 0", BANNER]
    return lines


class FindTest(unittest.TestCase):
    def test_plain_lines(self):
        lines = ["[ 0.1] ok", "[ 0.2] BUG: sched: task 'cpuhp/3'/9 overflowed its stack",
                 "[ 0.3] WARNING: suspend: CPU 2 did not come back online: x", "vigil> check"]
        bad = find_unexpected(lines)
        self.assertEqual([i for i, _ in bad], [1, 2])
        self.assertIn("overflowed its stack", bad[0][1])
        self.assertEqual(find_unexpected(lines, [r"overflowed", r"did not come back"]), [])

    def test_lockdep_blocks(self):
        planted = lockdep_block("WARNING: possible circular locking dependency detected", True)
        real = lockdep_block("WARNING: possible recursive locking detected", False)
        self.assertEqual(find_unexpected(planted), [])
        bad = find_unexpected(planted + ["[ 2.0] fine"] + real)
        self.assertEqual(len(bad), 1)
        self.assertIn("recursive locking", bad[0][1])
        self.assertEqual(find_unexpected(real, [r"recursive locking"]), [])

    def test_panic(self):
        lines = ["[ 1.0] KERNEL PANIC: requested"]
        self.assertEqual(len(find_unexpected(lines)), 1)
        self.assertEqual(find_unexpected(lines, allow_panic=True), [])


SCENARIOS = '''
from harness.scenario import scenario, qemu

@scenario(targets=[qemu(smp=1)], shared="g")
def undeclared_bug(s):
    s.ok("say BUG: sched: task 'cpuhp/3'/9 overflowed its stack")

@scenario(targets=[qemu(smp=1)], shared="g")
def next_one_is_clean(s):
    s.ok("version")

@scenario(targets=[qemu(smp=1)], shared="g", expect_reports=[r"WARNING: planted"])
def declared_warning(s):
    s.ok("say WARNING: planted on purpose")

@scenario(targets=[qemu(smp=1)], shared="g")
def declared_at_run_time(s):
    s.expect_report(r"BUG: wanted")
    s.ok("say BUG: wanted here")

@scenario(targets=[qemu(smp=1)], shared="g")
def planted_lockdep(s):
    s.ok("lockdep planted")

@scenario(targets=[qemu(smp=1)], shared="g")
def real_lockdep(s):
    s.ok("lockdep real")

@scenario(targets=[qemu(smp=2)], cmdline="warnboot")
def warning_at_boot(s):
    s.ok("version")
'''


class RunnerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="harness-reports-")
        self.dir = os.path.join(self.tmp, "scenarios")
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "strict.py"), "w") as f:
            f.write(textwrap.dedent(SCENARIOS))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_strictness(self):
        def say(line):
            return "[    1.5] %s\nok\n" % line.split(" ", 1)[1]

        def lockdep(line):
            block = lockdep_block("WARNING: possible recursive locking detected", line.endswith("planted"))
            return "\n".join(block) + "\nok\n"

        def make(target, cmdline, name):
            args = {"extra_commands": {"say": say, "lockdep": lockdep}}
            if cmdline == "warnboot":
                args["boot_log"] = ["vigil fake booting", "WARNING: virt: something at boot"]
            return FakeMachine(target, self.tmp, cmdline=None, name=name, kernel_args=args)

        scs = load_scenarios([self.dir])
        _, units = plan(scs)
        res = {r.name: r for r in Runner({"qemu": make}).run(units)}
        self.assertEqual(res["undeclared_bug"].status, "fail")
        self.assertIn("undeclared kernel report", res["undeclared_bug"].message)
        self.assertIn("overflowed its stack", res["undeclared_bug"].message)
        self.assertEqual(res["next_one_is_clean"].status, "pass", res["next_one_is_clean"].message)
        self.assertEqual(res["declared_warning"].status, "pass", res["declared_warning"].message)
        self.assertEqual(res["declared_at_run_time"].status, "pass", res["declared_at_run_time"].message)
        self.assertEqual(res["planted_lockdep"].status, "pass", res["planted_lockdep"].message)
        self.assertEqual(res["real_lockdep"].status, "fail")
        self.assertIn("recursive locking", res["real_lockdep"].message)
        self.assertEqual(res["warning_at_boot"].status, "fail")
        self.assertIn("something at boot", res["warning_at_boot"].message)


if __name__ == "__main__":
    unittest.main()

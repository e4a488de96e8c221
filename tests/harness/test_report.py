"""KTAP lines, the summary line, JUnit XML."""

import io
import re
import unittest
import xml.etree.ElementTree as ET

import harnesspath  # noqa: F401
from harness.report import Reporter, counts, junit_xml, summary_line
from harness.runner import Result
from harness.targets import bochs, qemu


class Sc:
    def __init__(self, name, module="basic"):
        self.name = name
        self.module = module


def result(name, status, target=None, duration=1.25, message="", details="", log=None):
    r = Result(Sc(name), target or qemu(smp=4))
    r.status = status
    r.duration = duration
    r.message = message
    r.details = details
    r.log = log
    return r


class KtapTest(unittest.TestCase):
    def lines(self, results):
        out = io.StringIO()
        rep = Reporter(out=out)
        rep.header(len(results))
        for i, r in enumerate(results, 1):
            rep.result(r, i)
        rep.summary(results)
        return out.getvalue().splitlines()

    def test_format(self):
        rs = [result("cpus", "pass", duration=12.34),
              result("boot", "fail", target=bochs(smp=2), message="timeout after 30s",
                     details="vigil> cpus\n\x1b", log="build/logs/boot-bochs.log"),
              result("poweroff", "skip", message="bochs not installed")]
        lines = self.lines(rs)
        self.assertEqual(lines[0], "KTAP version 1")
        self.assertEqual(lines[1], "1..3")
        self.assertEqual(lines[2], "ok 1 - cpus (qemu smp=4) 12.3s")
        self.assertEqual(lines[3], "not ok 2 - boot (bochs corei7_skylake_x smp=2) 1.2s")
        self.assertIn("# timeout after 30s", lines)
        self.assertIn("# log: build/logs/boot-bochs.log", lines)
        self.assertIn("# | vigil> cpus", lines)
        self.assertIn("ok 3 - poweroff (qemu smp=4) # SKIP bochs not installed", lines)
        self.assertEqual(lines[-2], "harness: 1 skipped")
        self.assertEqual(lines[-1], "harness: 1 passed, 1 failed")

    def test_alarm_lines_above_the_tail(self):
        chatter = ["[ 36.3] cpuhp: CPU 3 stays offline: failed (injected)"] * 40
        details = "\n".join(["vigil> stress ops=2000", "stress: violation op=17 check: timer: stuck"]
                             + chatter + ["error: stress: 1 violations (0 lockdep)"])
        lines = self.lines([result("stress", "fail", message="stress failed", details=details)])
        self.assertIn("# ! stress: violation op=17 check: timer: stuck", lines)
        # Above the tail only, once, and before it.
        self.assertEqual(sum(1 for l in lines if l.startswith("# ! ")), 1)
        self.assertLess(lines.index("# ! stress: violation op=17 check: timer: stuck"),
                        lines.index("# | error: stress: 1 violations (0 lockdep)"))

    def test_summary_is_exact(self):
        self.assertTrue(re.fullmatch(r"harness: \d+ passed, \d+ failed",
                                     summary_line([result("a", "pass")])))
        self.assertEqual(summary_line([]), "harness: 0 passed, 0 failed")
        self.assertEqual(counts([result("a", "pass"), result("b", "fail"),
                                 result("c", "skip")]), (1, 1, 1))


class JunitTest(unittest.TestCase):
    def test_document(self):
        rs = [result("cpus", "pass", log="l1"),
              result("boot", "fail", message="kernel panic: x\nmore", details="a\x01b"),
              result("cpus", "pass", target=bochs(smp=2)),
              result("poweroff", "skip", target=bochs(smp=2), message="no bochs")]
        root = ET.fromstring(junit_xml(rs))
        self.assertEqual(root.tag, "testsuites")
        self.assertEqual(root.get("tests"), "4")
        self.assertEqual(root.get("failures"), "1")
        self.assertEqual(root.get("skipped"), "1")
        suites = root.findall("testsuite")
        self.assertEqual([s.get("name") for s in suites],
                         ["vigil.qemu smp=4", "vigil.bochs corei7_skylake_x smp=2"])
        cases = suites[0].findall("testcase")
        self.assertEqual(cases[0].get("name"), "cpus (qemu smp=4)")
        self.assertEqual(cases[0].get("classname"), "scenarios.basic.qemu-smp4")
        fail = cases[1].find("failure")
        self.assertEqual(fail.get("message"), "kernel panic: x")
        self.assertIn("a\\x01b", fail.text)
        self.assertIsNotNone(suites[1].findall("testcase")[1].find("skipped"))
        self.assertIn("l1", cases[0].find("system-out").text)


if __name__ == "__main__":
    unittest.main()

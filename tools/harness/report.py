"""Reports: KTAP-like lines as results arrive, JUnit XML, the summary line.

    KTAP version 1
    1..12
    ok 1 - boot (qemu smp=1) 8.1s
    not ok 2 - cpus (qemu smp=4) 31.0s
    # timeout after 30s waiting for the reply to 'cpus'
    # log: build/logs/cpus-qemu-smp4.log
    # | vigil> cpus
    ok 3 - bochs_boot (bochs corei7_skylake_x smp=2) # SKIP bochs not found
    harness: 1 passed, 1 failed

The last line is always exactly "harness: <n> passed, <n> failed" (CI reads
it); skipped results are counted on a line of their own before it.
"""

import os
import re
import socket
import sys
import time
import xml.etree.ElementTree as ET

TAIL_LINES = 25
ALARM_LINES = 10
# Lines that usually are the cause of a failure: shown (marked "# !") even
# when they scrolled out of the tail, as a stress run's violation does under
# a few hundred lines of hotplug chatter.
ALARM = re.compile(r"violation[: ]|BUG:|WARNING:|panic|^not ok|^error: |lockdep: ")


class Reporter:
    def __init__(self, out=None, tail_lines=TAIL_LINES):
        self.out = out or sys.stdout
        self.tail_lines = tail_lines
        self.started = time.time()

    def header(self, count):
        self._print("KTAP version 1")
        self._print("1..%d" % count)

    def result(self, res, number):
        if res.status == "skip":
            self._print("ok %d - %s # SKIP %s" % (number, res.title, res.message))
            return
        word = "ok" if res.status == "pass" else "not ok"
        self._print("%s %d - %s %.1fs" % (word, number, res.title, res.duration))
        for n in res.notes:
            for line in str(n).splitlines():
                self._print("# %s" % line)
        if res.status != "pass":
            for line in (res.message or "failed").splitlines():
                self._print("# %s" % line)
            if res.log:
                self._print("# log: %s" % res.log)
            for line in alarms(res.details, self.tail_lines):
                self._print("# ! %s" % line)
            for line in tail(res.details, self.tail_lines):
                self._print("# | %s" % line)

    def progress(self, text):
        # Progress goes to stderr so stdout stays parseable.
        print("harness: %s" % text, file=sys.stderr, flush=True)

    def summary(self, results):
        passed, failed, skipped = counts(results)
        if skipped:
            self._print("harness: %d skipped" % skipped)
        self._print(summary_line(results))

    def _print(self, line):
        print(line, file=self.out, flush=True)


def counts(results):
    passed = sum(1 for r in results if r.status == "pass")
    failed = sum(1 for r in results if r.status not in ("pass", "skip"))
    skipped = sum(1 for r in results if r.status == "skip")
    return passed, failed, skipped


def summary_line(results):
    passed, failed, _ = counts(results)
    return "harness: %d passed, %d failed" % (passed, failed)


def tail(text, n):
    if not text:
        return []
    lines = str(text).splitlines()
    return lines[-n:]


def alarms(text, tail_lines, most=ALARM_LINES):
    """The first alarm lines above the last tail_lines of text."""
    if not text:
        return []
    lines = str(text).splitlines()
    above = lines[:-tail_lines] if tail_lines else lines
    return [line for line in above if ALARM.search(line)][:most]


def _clean(text):
    """XML 1.0 cannot carry most control characters."""
    return "".join(c if c in "\t\n\r" or ord(c) >= 0x20 else "\\x%02x" % ord(c) for c in str(text))


def junit_xml(results, name="vigil", started=None):
    """The JUnit XML document (bytes): one testsuite per target."""
    suites = {}
    order = []
    for r in results:
        key = r.target.label
        if key not in suites:
            suites[key] = []
            order.append(key)
        suites[key].append(r)
    passed, failed, skipped = counts(results)
    root = ET.Element("testsuites", name=name, tests=str(len(results)), failures=str(failed),
                      errors="0", skipped=str(skipped),
                      time="%.3f" % sum(r.duration for r in results))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started or time.time()))
    for key in order:
        rs = suites[key]
        _, f, s = counts(rs)
        suite = ET.SubElement(root, "testsuite", name="%s.%s" % (name, key), tests=str(len(rs)),
                              failures=str(f), errors="0", skipped=str(s),
                              time="%.3f" % sum(r.duration for r in rs), timestamp=stamp,
                              hostname=socket.gethostname())
        for r in rs:
            case = ET.SubElement(suite, "testcase", classname="scenarios.%s.%s" % (
                r.scenario.module, r.target.slug), name=r.title, time="%.3f" % r.duration)
            if r.status == "skip":
                ET.SubElement(case, "skipped", message=_clean(r.message))
            elif r.status != "pass":
                fail = ET.SubElement(case, "failure", message=_clean(r.message.splitlines()[0]
                                                                     if r.message else "failed"),
                                     type="failure")
                fail.text = _clean("\n".join([r.message] + ["! " + a for a in alarms(r.details, 60)]
                                              + tail(r.details, 60)))
            out = []
            if r.notes:
                out += [str(n) for n in r.notes]
            if r.log:
                out.append("serial log: %s" % r.log)
            if out:
                ET.SubElement(case, "system-out").text = _clean("\n".join(out))
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def write_junit(path, results, started=None):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    data = junit_xml(results, started=started)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)

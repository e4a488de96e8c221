"""Kernel reports in a serial log that a scenario did not expect.

A scenario fails when its part of the console log holds a report the kernel
printed without the scenario declaring it: a `BUG:` or `WARNING:` line, a
panic (unless s.allow_panic()), or a lockdep report (the lines between two
`lockdep: ====` banners).  A lockdep report that carries the kernel's own
mark `(expected: planted by a self-test, ...)` is expected by construction:
a self-test opened an expect window around the bug it planted.  Anything
else a scenario means to see it declares, with @scenario(expect_reports=...)
or s.expect_report(regex): each is a regex searched in the report's lines.
"""

import re

from .console import PANIC_RE

BANNER = re.compile(r"lockdep: =====")
PLANTED = re.compile(r"lockdep: \(expected: planted by a self-test")
ALARM = re.compile(r"\bBUG:|\bWARNING:")


def find_unexpected(lines, expected=(), allow_panic=False):
    """The reports in `lines` that nobody declared: a list of (index, text)
    where text is the report's first line (its title for lockdep)."""
    pats = [re.compile(p) for p in expected]
    out = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if BANNER.search(line):
            j = i + 1
            while j < n and not BANNER.search(lines[j]):
                j += 1
            block = lines[i:j + 1]
            planted = any(PLANTED.search(l) for l in block)
            declared = any(p.search(l) for p in pats for l in block)
            if not planted and not declared:
                title = next((l for l in block[1:] if ALARM.search(l) or "lockdep:" in l), line)
                out.append((i, title.strip()))
            i = j + 1
            continue
        alarm = ALARM.search(line) or (PANIC_RE.search(line) and not allow_panic)
        if alarm and not any(p.search(line) for p in pats):
            out.append((i, line.strip()))
        i += 1
    return out

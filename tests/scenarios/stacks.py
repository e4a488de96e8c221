"""Kernel stacks: each task's stack sits above an unmapped guard page
(arch/x86/stack_map.c), so running off its bottom faults at once -- as a
double fault, the page fault's frame having nowhere to go -- with a report
naming the task; `tasks` shows every stack's high-water mark; and `check`
fails once any stack was used to its last word (the canary at the bottom)."""

import re

from harness.scenario import scenario
from _expect import QEMU_1, QEMU_4


@scenario(targets=[QEMU_1, QEMU_4], expect_reports=[r"BUG: stack overflow: task 'overflow'"])
def stack_overflow_hits_guard_page(s):
    s.allow_panic(True)
    s.con.wait_prompt()
    s.send("crash stack\r")
    s.expect_exit(clean=False)
    s.log_has(r"BUG: stack overflow: task 'overflow'/\d+ ran off the bottom of its stack into the guard page "
              r"at 0x[0-9a-f]+", "guard page report")
    s.log_has(r"exception 8 \(double fault\) in kernel mode", "double fault")
    s.log_has(r"crash_recurse[.\w]*\+0x", "backtrace names the recursing function")


@scenario(targets=[QEMU_4])
def tasks_show_stack_high_water(s):
    r = s.ok("tasks")
    rows = r.where("task")
    s.check(len(rows) >= 4, "tasks listed: %d" % len(rows), r.text())
    own = [t for t in rows if t["stack_size"] != "-"]
    s.check(any(t["name"] == "cpuhp/3" for t in own), "cpuhp/3 listed with its own stack", r.text())
    for t in own:
        used, size = int(t["stack_used"]), int(t["stack_size"])
        s.check(0 < used < size, "task %s: stack_used=%d of %d" % (t["name"], used, size), r.text())
    s.ok("check")


@scenario(targets=[QEMU_1], expect_reports=[r"BUG: sched: task 'canary'/\d+ overflowed its stack"])
def check_fails_after_a_stack_overflow(s):
    s.ok("check")
    s.ok("crash canary")
    s.error("check", match=r"stacks: task 'canary'/\d+ used its whole 16384-byte stack")
    s.log_has(r"BUG: sched: task 'canary'/\d+ overflowed its stack", "scheduler's report")

"""The fatal paths: an exception in the kernel prints the vector, the error
code, every register and a backtrace with symbol names, then stops the
machine with a failure status (QEMU exits through isa-debug-exit with status
3; Bochs writes to its shutdown port, the text being the verdict)."""

from harness.scenario import scenario
from _targets import BOCHS_1, QEMU_1, QEMU_4


def _crash(s, kind):
    s.allow_panic(True)
    s.con.wait_prompt()
    s.send("crash %s\r" % kind)
    info = s.expect_exit(clean=False)
    s.note("stopped: %s" % info.reason)
    return info


@scenario(targets=[QEMU_1, QEMU_4, BOCHS_1])
def crash_page_fault(s):
    _crash(s, "pagefault")
    s.log_has(r"exception 14 \(page fault\) in kernel mode", "exception line")
    s.log_has(r"RIP 0008:ffffffff8[0-9a-f]{7} RFLAGS [0-9a-f]{16} error 0000000000000002",
              "RIP and error code (write to a not-present page)")
    s.log_has(r"RSP .* CR2 0000000000000010", "CR2 holds the faulting address")
    s.log_has(r"RAX [0-9a-f]{16} RBX", "general registers")
    s.log_has(r"crash_page_fault\+0x", "backtrace names the faulting function")
    s.log_has(r"run_line\+0x", "backtrace reaches the shell that ran the command")
    s.log_has(r"KERNEL PANIC: unhandled exception 14 \(page fault\) at crash_page_fault", "panic line")


@scenario(targets=[QEMU_1])
def crash_invalid_opcode(s):
    _crash(s, "ud")
    s.log_has(r"exception 6 \(invalid opcode\) in kernel mode", "exception line")
    s.log_has(r"crash_invalid_opcode\+0x", "backtrace")


@scenario(targets=[QEMU_1])
def crash_panic(s):
    _crash(s, "panic")
    s.log_has(r"KERNEL PANIC: crash command: panic requested from the console", "panic message")
    s.log_has(r"Backtrace:", "backtrace header")
    s.log_has(r"panic\+0x", "backtrace starts in panic")
    s.log_has(r"run_line\+0x", "backtrace reaches the shell that ran the command")


@scenario(targets=[QEMU_1])
def crash_bad_kind(s):
    s.error("crash sideways", match=r"unknown crash subcommand 'sideways' \(expected pagefault, ud, stack, canary or panic\)")
    s.ok("check")

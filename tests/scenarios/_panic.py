"""What the scenarios that panic the machine share: typing the crash command,
the stop it must cause, and the per-CPU lines of the panic report
(panic_report_cpus() in core/panic_stop.c)."""

import re

CPU_LINE = re.compile(r"panic: cpu (\d+) (\(this CPU\)|stopped(?: \(it panicked too\))?|did not answer the NMI)"
                      r"(?:, (.*))?$")


def expect_panic_stop(s, command):
    """Type command (it must panic the machine) and check the stop: QEMU's
    failure status, or Bochs's BIOS panic port."""
    s.allow_panic(True)
    s.con.wait_prompt()
    s.send(command + "\r")
    info = s.expect_exit(clean=False)
    s.note("stopped: %s" % info.reason)
    if s.target.kind == "qemu":
        s.eq(info.status, 3, "QEMU exit status (isa-debug-exit 1: panic)")
    else:
        s.check("Bochs panic" in info.reason, "Bochs did not stop through the BIOS panic port: %s" % info.reason)
    return info


def panic_report(s):
    """{cpu: (how, virt)} from the per-CPU lines; every CPU once."""
    cpus = {}
    for line in s.con.search(r"panic: cpu \d+ "):
        m = CPU_LINE.search(line.rstrip())
        s.check(m is not None, "malformed per-CPU panic line: %r" % line)
        cpu = int(m.group(1))
        s.check(cpu not in cpus, "CPU %d reported twice" % cpu)
        cpus[cpu] = (m.group(2), m.group(3))
    s.eq(sorted(cpus), list(range(s.smp)), "CPUs in the panic report")
    return cpus


def all_off(s, cpus, panicker, virt="virtualization off"):
    """The panicking CPU reports itself, every other one was stopped, and
    each is in state virt."""
    for cpu, (how, state) in sorted(cpus.items()):
        if cpu == panicker:
            s.eq(how, "(this CPU)", "how CPU %d is reported" % cpu)
        else:
            s.check(how.startswith("stopped"), "CPU %d: %s" % (cpu, how))
        s.eq(state, virt, "CPU %d after the panic" % cpu)

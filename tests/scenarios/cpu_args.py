"""CPU arguments of console commands: every command that names a CPU takes
it through one helper (shell_arg_cpu, core/console/shell_args.c), so a
number beyond the machine's last CPU is refused the same way everywhere,
whatever its size, with the machine's own range: `vm run ... cpu=`,
`inject <point> cpu=`, `crash panic cpu=|also=|slow=|stuck=`,
`cpu online|offline <n>`.  On a 1-CPU machine the range is 0..0 (it used to
read as "no limit" and a huge value was truncated to CPU 0)."""

from harness.scenario import scenario
from _targets import QEMU_1, QEMU_4


def _refused(s, cmd, value, what, last):
    s.error(cmd, match=r"^bad value '%s' for %s \(expected 0\.\.%d\)$" % (value, what, last))


@scenario(targets=[QEMU_4, QEMU_1])
def cpu_arguments_one_message(s):
    """Out-of-range CPU numbers: one message with the machine's range, and
    nothing changes (no injection armed, no VM run)."""
    last = s.smp - 1
    vm = s.ok("vm create").records[0]["vm"]
    for value in (str(s.smp), "200", "256", "4294967296"):
        _refused(s, "vm run %s cpu=%s exits=1" % (vm, value), value, "cpu=", last)
        _refused(s, "inject virt_enable_fail cpu=%s" % value, value, "cpu=", last)
        for opt in ("cpu", "also", "slow", "stuck"):
            _refused(s, "crash panic %s=%s" % (opt, value), value, opt + "=", last)
        _refused(s, "cpu online %s" % value, value, "<n>", last)
    point = s.ok("inject list").find(point="virt_enable_fail")
    s.eq([p.get("armed") for p in point], ["0"], "virt_enable_fail armed after the refusals")
    r = s.ok("vm run %s cpu=%d exits=3" % (vm, last), timeout=s.scaled(120))
    s.eq(r.records[0].get("exits"), "3", "a run on the last CPU")
    s.ok("vm destroy %s" % vm)
    s.ok("check")

"""Scenario loading, planning and running, against the fake kernel."""

import os
import shutil
import tempfile
import textwrap
import unittest

import harnesspath  # noqa: F401
from harness.runner import Runner, plan
from harness.scenario import load_scenarios

from fakemachine import FakeMachine

SCENARIOS = '''
from harness.scenario import scenario, qemu, bochs
import _helper

@scenario(targets=[qemu(smp=1), qemu(smp=2)], shared="g")
def first(s):
    s.ok("version")

@scenario(targets=[qemu(smp=1), qemu(smp=2)], shared="g")
def second(s):
    r = s.ok("cpus")
    s.eq(r.get("possible"), str(s.smp), "possible")

@scenario(targets=[qemu(smp=1)], shared="g")
def failing(s):
    s.eq(1, 2, "one")

@scenario(targets=[qemu(smp=1)], shared="g")
def panicking(s):
    s.cmd("panic")

@scenario(targets=[qemu(smp=1)], shared="g")
def after_panic(s):
    s.ok(_helper.COMMAND)

@scenario(targets=[qemu(smp=1), bochs(smp=1)], cmdline="bogus=1")
def alone(s):
    s.boot_log_has("unknown parameter 'bogus'")
    s.poweroff()

@scenario(targets=[qemu(smp=1)], timeout=1)
def hangs(s):
    s.cmd("hang", timeout=30)

@scenario(targets=[qemu(smp=1)])
def broken(s):
    {}["no such key"]
'''


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="harness-runner-")
        self.dir = os.path.join(self.tmp, "scenarios")
        os.makedirs(self.dir)
        self.write("basic.py", SCENARIOS)
        self.write("_helper.py", "COMMAND = 'version'\n")
        self.machines = []

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(textwrap.dedent(text))

    def factory(self, kernel_args=None):
        def make(target, cmdline, name):
            args = dict(kernel_args or {})
            if cmdline == "silent":
                args["silent"] = True
            m = FakeMachine(target, self.tmp, cmdline=cmdline, name=name,
                            kernel_args=dict(args, hang_on=["hang"]))
            self.machines.append(m)
            return m
        return make

    def run_all(self, only=None, kinds=None, available=None, jobs=1):
        scs = load_scenarios([self.dir])
        pairs, units = plan(scs, only=only, kinds=kinds)
        f = self.factory()
        runner = Runner({"qemu": f, "bochs": f}, available=available or {}, jobs=jobs)
        return {r.title: r for r in runner.run(units)}, pairs, units


class LoadPlanTest(Base):
    def test_load(self):
        scs = load_scenarios([self.dir])
        self.assertEqual([s.name for s in scs],
                         ["first", "second", "failing", "panicking", "after_panic", "alone",
                          "hangs", "broken"])
        self.assertEqual(scs[0].group, "g")
        self.assertIsNone(scs[5].group)
        self.assertEqual(scs[5].cmdline, "bogus=1")

    def test_duplicate_names(self):
        self.write("other.py", "from harness.scenario import scenario\n"
                               "@scenario()\ndef first(s): pass\n")
        with self.assertRaises(ValueError):
            load_scenarios([self.dir])

    def test_plan_groups(self):
        pairs, units = plan(load_scenarios([self.dir]))
        self.assertEqual(len(pairs), 11)
        shared = [u for u in units if u.group]
        self.assertEqual([(u.target.smp, [s.name for s in u.scenarios]) for u in shared],
                         [(1, ["first", "second", "failing", "panicking", "after_panic"]),
                          (2, ["first", "second"])])
        self.assertEqual(len(units), 2 + 4)
        self.assertEqual(shared[0].log_name, "g-qemu-smp1")

    def test_filters(self):
        scs = load_scenarios([self.dir])
        pairs, _ = plan(scs, only=["second"])
        self.assertEqual([(s.name, t.smp) for s, t in pairs], [("second", 1), ("second", 2)])
        pairs, _ = plan(scs, only=["* (qemu smp=2)"])
        self.assertEqual([s.name for s, t in pairs], ["first", "second"])
        pairs, _ = plan(scs, kinds=["bochs"])
        self.assertEqual([(s.name, t.kind) for s, t in pairs], [("alone", "bochs")])
        pairs, _ = plan(scs, only=["basic.alone"], kinds=["qemu"])
        self.assertEqual(len(pairs), 1)

    def test_selection_groups(self):
        self.write("extra.py", "from harness.scenario import scenario, qemu\n"
                               "GROUPS = ('virt',)\n"
                               "@scenario(targets=[qemu(smp=1)])\ndef in_file_group(s): pass\n"
                               "@scenario(targets=[qemu(smp=1)], groups='power')\n"
                               "def also_power(s): pass\n")
        scs = load_scenarios([self.dir])
        by_name = {sc.name: sc for sc in scs}
        self.assertEqual(by_name["first"].groups, ("basic",))
        self.assertEqual(by_name["also_power"].groups, ("extra", "virt", "power"))
        pairs, _ = plan(scs, groups=["virt"])
        self.assertEqual([s.name for s, t in pairs], ["in_file_group", "also_power"])
        pairs, _ = plan(scs, groups=["power", "basic"], only=["alone"])
        self.assertEqual([(s.name, t.kind) for s, t in pairs], [("alone", "qemu"), ("alone", "bochs")])
        pairs, _ = plan(scs, groups=["power"])
        self.assertEqual([s.name for s, t in pairs], ["also_power"])
        with self.assertRaises(ValueError) as cm:
            plan(scs, groups=["nope"])
        self.assertIn("unknown group nope", str(cm.exception))
        self.assertIn("virt", str(cm.exception))


class RunTest(Base):
    def test_results(self):
        res, pairs, units = self.run_all()
        self.assertEqual(len(res), len(pairs))
        st = {k: v.status for k, v in res.items()}
        self.assertEqual(st["first (qemu smp=1)"], "pass")
        self.assertEqual(st["second (qemu smp=2)"], "pass")
        self.assertEqual(st["failing (qemu smp=1)"], "fail")
        self.assertEqual(res["failing (qemu smp=1)"].message, "one: expected 2, got 1")
        self.assertEqual(st["panicking (qemu smp=1)"], "fail")
        self.assertIn("kernel panic", res["panicking (qemu smp=1)"].message)
        self.assertEqual(st["after_panic (qemu smp=1)"], "pass")      # on a fresh boot
        self.assertEqual(st["alone (qemu smp=1)"], "pass")
        self.assertEqual(st["alone (bochs smp=1)".replace("bochs", "bochs corei7_skylake_x")],
                         "pass")
        self.assertEqual(st["hangs (qemu smp=1)"], "fail")
        self.assertIn("scenario timeout", res["hangs (qemu smp=1)"].message)
        self.assertEqual(st["broken (qemu smp=1)"], "fail")
        self.assertIn("KeyError", res["broken (qemu smp=1)"].message)
        self.assertIn("Traceback", res["broken (qemu smp=1)"].details)
        # Boots: group smp=1 twice (rebooted after the panic), group smp=2
        # once, alone x2, hangs, broken.
        names = [m.name for m in self.machines]
        self.assertEqual(names.count("g-qemu-smp1"), 1)
        self.assertEqual(names.count("g-qemu-smp1.boot2"), 1)
        self.assertEqual(len(self.machines), 7)
        for r in res.values():
            self.assertTrue(r.log and r.log.endswith(".log"), r.title)

    def test_parallel(self):
        res, pairs, _ = self.run_all(jobs=2)
        self.assertEqual(len(res), len(pairs))
        self.assertEqual(res["second (qemu smp=2)"].status, "pass")

    def test_skip(self):
        res, _, _ = self.run_all(kinds=["bochs"], available={"bochs": "bochs not installed"})
        (r,) = res.values()
        self.assertEqual((r.status, r.message), ("skip", "bochs not installed"))
        self.assertEqual(self.machines, [])

    def test_boot_failure_fails_the_group(self):
        self.write("basic.py", SCENARIOS.replace('shared="g")', 'shared="g", cmdline="silent",'
                                                 ' boot_timeout=0.3)'))
        res, _, _ = self.run_all(only=["* (qemu smp=2)"])
        self.assertEqual([r.status for r in res.values()], ["fail", "fail"])
        msgs = [r.message for r in res.values()]
        self.assertTrue(msgs[0].startswith("boot: timeout"), msgs[0])
        self.assertTrue(msgs[1].startswith("boot failed: boot: timeout"), msgs[1])
        self.assertEqual(len(self.machines), 1)


S3_SCENARIOS = '''
from harness.scenario import scenario, qemu

@scenario(targets=[qemu(smp=1)], shared="s3")
def default_delay(s):
    s.eq(s.machine.s3_delays[-1], 0.1, "default wake-up delay")
    s.eq((s.suspends, s.wakeups, s.s3_cycles), (2, 1, [(1.0, 1.5), (2.0, None)]), "counters")

@scenario(targets=[qemu(smp=1)], shared="s3", s3_wakeup=2.5)
def own_delay(s):
    s.eq(s.machine.s3_delays[-1], 2.5, "scenario's wake-up delay")
    s.set_s3_wakeup(None)
    s.eq(s.machine.s3_delays[-1], None, "delay changed by the scenario")

@scenario(targets=[qemu(smp=1)], shared="s3")
def back_to_default(s):
    s.eq(s.machine.s3_delays, [0.1, 2.5, None, 0.1], "delays set, in order")
'''


class FakeQMP:
    suspends = 2
    wakeups = 1
    s3_cycles = [[1.0, 1.5], [2.0, None]]


class S3Machine(FakeMachine):
    """A fake machine with the QEMU machine's S3 wake-up control."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.s3_delays = []
        self.qmp = FakeQMP()

    def set_s3_wakeup(self, delay):
        self.s3_delays.append(delay)


class S3WakeupTest(Base):
    """The runner hands each scenario's s3_wakeup to the machine before the
    scenario runs (also in a shared boot), and the Session exposes the QMP
    counters."""

    def test_delays_and_counters(self):
        self.write("basic.py", S3_SCENARIOS)
        scs = load_scenarios([self.dir])
        pairs, units = plan(scs)
        self.assertEqual(len(units), 1)

        def make(target, cmdline, name):
            m = S3Machine(target, self.tmp, cmdline=cmdline, name=name)
            self.machines.append(m)
            return m
        res = Runner({"qemu": make}).run(units)
        self.assertEqual([(r.name, r.status, r.message) for r in res],
                         [("default_delay", "pass", ""), ("own_delay", "pass", ""),
                          ("back_to_default", "pass", "")])
        self.assertEqual(len(self.machines), 1)

    def test_without_qmp(self):
        self.write("basic.py", "from harness.scenario import scenario, qemu\n"
                               "@scenario(targets=[qemu()])\n"
                               "def counters(s):\n"
                               "    s.eq((s.suspends, s.wakeups, s.s3_cycles), (0, 0, []), 'counters')\n"
                               "    s.set_s3_wakeup(1.0)\n")
        res, _, _ = self.run_all()
        (r,) = res.values()
        self.assertEqual(r.status, "fail")
        self.assertIn("no S3 wake-up control", r.message)


# Scenario files about the console protocol itself, which the fake kernel
# implements.  The others (SMP, virtualization, crashes) need the real kernel;
# for them this test only checks that they load and plan.
FAKE_COVERED = {"basic", "cmdline", "power", "acpi", "framebuffer"}


class RealScenariosTest(unittest.TestCase):
    """tests/scenarios/ loads, and the protocol scenarios pass against a
    kernel that follows the protocol (the fake), so a failure there is the
    kernel's, not the file's."""

    def test_all_scenarios_load_and_plan(self):
        scs = load_scenarios([os.path.join(harnesspath.REPO, "tests", "scenarios")])
        self.assertTrue(scs)
        pairs, units = plan(scs)
        self.assertTrue(pairs)

    def test_against_fake_kernel(self):
        scs = load_scenarios([os.path.join(harnesspath.REPO, "tests", "scenarios")])
        scs = [sc for sc in scs if os.path.splitext(os.path.basename(sc.path))[0] in FAKE_COVERED]
        self.assertTrue(scs)
        pairs, units = plan(scs)
        tmp = tempfile.mkdtemp(prefix="harness-real-")
        try:
            def make(target, cmdline, name):
                return FakeMachine(target, tmp, cmdline=cmdline, name=name)
            runner = Runner({"qemu": make, "bochs": make}, jobs=2)
            results = runner.run(units)
            self.assertEqual(len(results), len(pairs))
            bad = ["%s: %s" % (r.title, r.message) for r in results if r.status != "pass"]
            self.assertEqual(bad, [])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()

"""The large host invalidation stress (`make stress-inval`, not part of
`make check`): at least 30,000 invalidations on a live VM under each
technology, with slot updates, CPU hotplug and suspend mixed in.  What it
runs and checks: tests/scenarios/_inval_stress.py.  Figures from these runs
are in docs/invalidation.md."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenarios"))

from harness.scenario import scenario  # noqa: E402
from _targets import BOCHS_VMX4, QEMU_SVM4  # noqa: E402
import _inval_stress  # noqa: E402


@scenario(targets=[QEMU_SVM4], timeout=3600)
def inval_stress_large_svm(s):
    _inval_stress.run(s, min_invalidations=30000, min_cycles=100, gap_us=100, seed=20261206)


@scenario(targets=[BOCHS_VMX4], timeout=3600)
def inval_stress_large_vmx(s):
    _inval_stress.run(s, min_invalidations=30000, min_cycles=100, gap_us=100, seed=20261207)

"""tools/run-models.py's verdicts, on tiny Promela models: a check passes only
when Spin says what models.txt expects, so a broken variant that Spin does not
reject (or rejects for another reason) fails `make model`."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(ROOT, "tools", "run-models.py")

# Two processes take two locks; in opposite orders unless SAME_ORDER.
ABBA = """
byte a, b;
bool done_p, done_q;
proctype p() { atomic { a == 0 -> a = 1 }; atomic { b == 0 -> b = 1 }; b = 0; a = 0; done_p = true }
proctype q() {
#ifdef SAME_ORDER
	atomic { a == 0 -> a = 2 }; atomic { b == 0 -> b = 2 }; b = 0; a = 0;
#else
	atomic { b == 0 -> b = 2 }; atomic { a == 0 -> a = 2 }; a = 0; b = 0;
#endif
	done_q = true
}
init { atomic { run p(); run q() } }
"""

# A counter incremented without a lock loses an update unless ATOMIC.
COUNTER = """
byte n, finished;
proctype inc() {
	byte t;
#ifdef ATOMIC
	atomic { t = n; n = t + 1 };
#else
	t = n; n = t + 1;
#endif
	finished++
}
init {
	atomic { run inc(); run inc() };
	finished == 2;
#ifndef NO_ASSERT
	assert(n == 2)
#endif
}
ltl no_lost_update { [] (finished == 2 -> n == 2) }
ltl both_finish { <> (finished == 2) }
ltl never_settles { [] <> (n != 2) }
"""


@unittest.skipUnless(shutil.which("spin") and shutil.which("gcc"), "spin (Debian package 'spin') is not installed")
class RunModelsTest(unittest.TestCase):
    def run_manifest(self, lines):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "src")
            os.makedirs(src)
            for name, text in (("abba.pml", ABBA), ("counter.pml", COUNTER)):
                with open(os.path.join(src, name), "w") as f:
                    f.write(text)
            with open(os.path.join(src, "models.txt"), "w") as f:
                f.write("\n".join(lines) + "\n")
            p = subprocess.run([sys.executable, RUNNER, "--build", os.path.join(d, "build"), src],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
            return p.returncode, p.stdout

    def test_expected_verdicts_pass(self):
        rc, out = self.run_manifest([
            "abba-fixed abba.pml -DSAME_ORDER expect=pass",
            "abba abba.pml expect=deadlock blocked=p,q show=a,b",
            "counter counter.pml -DATOMIC expect=pass",
            "counter-racy counter.pml expect=assert:(n==2)",
            "counter-ltl counter.pml -DATOMIC -DNO_ASSERT ltl=no_lost_update expect=pass",
            "counter-ltl-live counter.pml -DNO_ASSERT ltl=both_finish expect=pass",
            "counter-ltl-racy counter.pml -DNO_ASSERT ltl=no_lost_update expect=claim",
            "counter-ltl-cycle counter.pml -DATOMIC -DNO_ASSERT ltl=never_settles expect=claim",
        ])
        self.assertEqual(rc, 0, out)
        self.assertIn("models: 8 passed, 0 failed", out)
        self.assertIn("stuck: p", out)
        self.assertIn("stuck: q", out)
        self.assertIn("at the end: a=1 b=2", out)

    def test_wrong_verdicts_fail(self):
        rc, out = self.run_manifest([
            "deadlock-expected-pass abba.pml expect=pass",
            "fixed-expected-deadlock abba.pml -DSAME_ORDER expect=deadlock",
            "racy-wrong-assertion counter.pml expect=assert:(n==3)",
            "racy-expected-deadlock counter.pml expect=deadlock",
            "deadlock-wrong-process abba.pml expect=deadlock blocked=init",
            "claim-holds counter.pml -DATOMIC -DNO_ASSERT ltl=no_lost_update expect=claim",
        ])
        self.assertEqual(rc, 1, out)
        self.assertIn("models: 0 passed, 6 failed", out)
        self.assertIn("expected a rejection (claim), but the search found no error", out)
        self.assertIn("expected no error, pan says: pan:1: invalid end state", out)
        self.assertIn("expected a rejection (deadlock), but the search found no error", out)
        self.assertIn("expected assertion '(n==3)'", out)
        self.assertIn("expected a deadlock, first error: pan:1: assertion violated", out)
        self.assertIn("expected stuck too: init", out)

    def test_truncated_search_fails(self):
        rc, out = self.run_manifest(["shallow counter.pml -DATOMIC expect=pass pan=-m2"])
        self.assertEqual(rc, 1, out)
        self.assertIn("search truncated by the depth limit", out)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Run every host unit test binary, stream its cmocka output, and print one
summary line 'N passed, N failed' that CI understands.  Exit 1 on any failure."""
import re, subprocess, sys

def main():
    passed = failed = 0
    bad = []
    for binary in sys.argv[1:]:
        proc = subprocess.run([binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=600)
        sys.stdout.write(proc.stdout)
        p = sum(int(n) for n in re.findall(r"\[  PASSED  \] (\d+) test", proc.stdout))
        f = sum(int(n) for n in re.findall(r"\[  FAILED  \] (\d+) test", proc.stdout))
        if proc.returncode != 0 and f == 0:
            f = 1  # crashed or sanitizer abort
        if p == 0 and f == 0:
            f = 1  # ran no test: a defect in itself
        passed += p
        failed += f
        if f:
            bad.append(binary)
    print("unit: %d passed, %d failed" % (passed, failed))
    if bad:
        print("unit: failing binaries: " + " ".join(bad))
    sys.exit(1 if failed else 0)

main()

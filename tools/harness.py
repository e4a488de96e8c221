#!/usr/bin/env python3
"""vigil host test harness: boots QEMU or Bochs, drives the serial console.

    python3 tools/harness.py --build build run --smp 4 --cpu max --mem 512M
    python3 tools/harness.py --build build check --junit build/junit.xml tests/scenarios
    python3 tools/harness.py --build build bench --smp 4 --cpu max

See docs/harness.md.  The code lives in tools/harness/ (a package: when this
file runs, its directory is first on sys.path and the package wins the name).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

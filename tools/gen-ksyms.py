#!/usr/bin/env python3
"""Turn `nm -n` output into a C table of text symbols for kernel backtraces.

The table is sorted by address; the kernel does a binary search.  With
--empty it writes a table of zero entries (first link pass)."""
import sys

def main():
    syms = []
    if "--empty" not in sys.argv:
        for line in sys.stdin:
            parts = line.split()
            if len(parts) != 3 or parts[1] not in "tTwW":
                continue
            syms.append((int(parts[0], 16), parts[2]))
    out = ['#include <stdint.h>', '#include <vigil/ksyms.h>',
           '__attribute__((section(".ksyms"))) const struct ksym ksyms[] = {']
    for addr, name in syms:
        out.append('\t{ 0x%xULL, "%s" },' % (addr, name))
    out.append('\t{ 0, 0 }')
    out.append('};')
    out.append('__attribute__((section(".ksyms"))) const unsigned long ksyms_count = %d;' % len(syms))
    print("\n".join(out))

main()

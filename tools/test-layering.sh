#!/bin/sh
# Tests of the layering rules of docs/HACKING.md: each check below fails when
# the rule it guards stops being enforced.  Run by `make lint`.
#   1. tools/lint-layering.sh rejects an arch include and VMX/SVM names in
#      core/ code (an identifier, a string) but accepts them in comments.
#   2. The build compiles core/ objects without the arch include path, and
#      everything else with it, at any directory depth.
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "test-layering: $*" >&2; fail=1; }

lint_on() {  # lint_on <file under core/> <text>: run the lint on a tree holding only that file
	rm -rf "$tmp/tree" && mkdir -p "$tmp/tree/include/vigil" "$tmp/tree/$(dirname "$1")"
	printf '%s\n' "$2" > "$tmp/tree/$1"
	(cd "$tmp/tree" && sh "$repo/tools/lint-layering.sh" >/dev/null 2>&1)
}
lint_on core/a/b/c.c '/* VMXON needs CR4.VMXE; the SVM side sets EFER.SVME */ int x;' ||
	bad "the lint rejects VMX/SVM named in a comment"
lint_on core/a/b/c.c 'int vmcs;' && bad "the lint accepts an identifier 'vmcs' in core/"
lint_on core/a/b/c.c 'const char *s = "svm";' && bad "the lint accepts the string \"svm\" in core/"
lint_on core/a/b/c.c '#include <asm/io.h>' && bad "the lint accepts an asm/ include in core/"

# The commands make would run for one object (nothing is built).
cc_line() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$repo" -n -B BUILD="$tmp/build" "$tmp/build/kernel/${1%.c}.o" 2>/dev/null | grep -- " -c $1 "; }
cc_line core/check.c | grep -q . || bad "no compile command found for core/check.c"
cc_line core/check.c | grep -q 'arch/x86/include' && bad "core/ objects are compiled with the arch include path"
cc_line arch/x86/cpu.c | grep -q 'arch/x86/include' || bad "arch/ objects are compiled without the arch include path"
cc_line drivers/uart/uart16550.c | grep -q 'arch/x86/include' || bad "drivers/ objects are compiled without the arch include path"

[ $fail = 0 ] && echo "test-layering: ok"
exit $fail

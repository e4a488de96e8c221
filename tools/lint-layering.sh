#!/bin/sh
# House rule (docs/HACKING.md): core/ never includes an arch/
# header and its code never names VMX or SVM; generic code reaches the machine
# through include/vigil/arch.h and the virtualization backends through
# virt_ops.  The include rule is also enforced by the build (core/ objects are
# compiled without arch/x86/include); this lint names the line.  The
# vocabulary rule reads code only: a comment may explain a hardware reason.
fail=0
if grep -rnE '#\s*include\s*[<"](\.\./)*(asm/|arch/)' core/ include/vigil/ 2>/dev/null; then
	echo "lint: core/ or include/vigil/ includes an architecture header (above)" >&2
	fail=1
fi
if find core/ include/vigil/ -name '*.[ch]' | sort | python3 -c '
import re, sys
# Comments become spaces (newlines kept, so line numbers stay right); string
# and character literals are kept: a message naming VMX is code.
token = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|\x27(?:\\.|[^\x27\\\n])*\x27", re.S)
word = re.compile(r"\b(vmx|svm|vmcs|vmcb|vmxon|vmrun)\b", re.I)
def blank(m):
    t = m.group(0)
    return t if t[0] in "\"\x27" else re.sub(r"[^\n]", " ", t)
hit = False
for path in sys.stdin.read().split():
    code = token.sub(blank, open(path, encoding="utf-8", errors="replace").read())
    for n, line in enumerate(code.split("\n"), 1):
        if word.search(line):
            print("%s:%d:%s" % (path, n, line.strip()))
            hit = True
sys.exit(1 if hit else 0)
'; then :; else
	echo "lint: core/ names VMX/SVM details (above); use the virt_ops interface" >&2
	fail=1
fi
[ $fail = 0 ] && echo "lint: layering ok"
exit $fail

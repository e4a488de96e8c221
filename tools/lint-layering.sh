#!/bin/sh
# House rule (DESIGN.md section 1): core/ never includes an arch/ header and
# never names VMX or SVM.  Generic code goes through include/vigil/arch.h.
fail=0
if grep -rnE '#\s*include\s*[<"](asm/|arch/)' core/ include/vigil/ 2>/dev/null; then
	echo "lint: core/ or include/vigil/ includes an architecture header (above)" >&2
	fail=1
fi
if grep -rniwE 'vmx|svm|vmcs|vmcb|vmxon|vmrun' core/ include/vigil/ 2>/dev/null; then
	echo "lint: core/ names VMX/SVM details (above); use the virt_ops interface" >&2
	fail=1
fi
[ $fail = 0 ] && echo "lint: layering ok"
exit $fail

; The built-in test guest for SVM: the one source in asm/guest_code.inc,
; with VMMCALL as the hypercall (AMD APM vol 2, 15.9; intercepted in the
; VMCB, svm_vmcb.c).
%include "asm/guest_code.inc"

bits 32
section .rodata
BUILTIN_GUESTS svm, vmmcall

; The built-in test guest for VMX: the one source in asm/guest_code.inc,
; with VMCALL as the hypercall (Intel SDM vol 3C, 26.1.2: it exits
; unconditionally).  OUT exits with "unconditional I/O exiting", HLT with
; "HLT exiting" (26.1.3), the wild write is an EPT violation (29.3.3.2) and
; UD2's #UD exits through the exception bitmap (26.2).
%include "asm/guest_code.inc"

bits 32
section .rodata
BUILTIN_GUESTS vmx, vmcall

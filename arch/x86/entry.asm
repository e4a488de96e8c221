; Kernel entry from a loader (boot/efi or boot/multiboot2).  Contract: see
; include/vigil/boot_info.h.  We are in long mode with the loader's page
; tables, interrupts off, RDI = physical address of struct boot_info.
bits 64
default rel

section .text.entry
global _start64
extern x86_boot
_start64:
	cli
	cld
	lea rsp, [boot_stack_top]
	xor ebp, ebp            ; terminates backtraces
	push rbp                ; keep the stack 16-byte aligned at the call
	call x86_boot           ; (boot_info_phys in rdi) never returns
.hang:
	hlt
	jmp .hang

section .bss
align 4096
global boot_stack_bottom
boot_stack_bottom:
	resb 32768
global boot_stack_top
boot_stack_top:

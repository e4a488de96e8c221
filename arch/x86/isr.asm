; Interrupt and exception entry stubs (Intel SDM vol 3, 6.14 "Exception and
; interrupt handling in 64-bit mode").  Every vector gets a stub that makes
; the frame uniform (a dummy error code where the CPU pushes none), pushes the
; vector number and jumps to isr_common, which saves the general registers in
; the order of struct trap_frame (arch/x86/include/asm/trap.h).
bits 64
default rel

section .text
extern trap_dispatch

%macro STUB_NOERR 1
isr_stub_%1:
	push 0
	push %1
	jmp isr_common
%endmacro
%macro STUB_ERR 1
isr_stub_%1:
	push %1
	jmp isr_common
%endmacro

; Vectors where the CPU pushes an error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX
%assign v 0
%rep 256
%if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30
	STUB_ERR v
%else
	STUB_NOERR v
%endif
%assign v v+1
%endrep

isr_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	cld
	mov rdi, rsp
	; Align the stack for C; the frame pointer chain continues through rbp
	; so backtraces from a handler reach the interrupted code.
	mov rbx, rsp
	and rsp, -16
	call trap_dispatch
	mov rsp, rbx
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16             ; vector and error code
	iretq

section .rodata
align 8
global isr_stub_table
isr_stub_table:
%assign v 0
%rep 256
	dq isr_stub_%+v
%assign v v+1
%endrep

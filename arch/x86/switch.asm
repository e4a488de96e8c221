; Context switch between kernel tasks (System V ABI: rbx, rbp, r12-r15 are
; callee-saved, so only those and the stack pointer need saving; the rest
; is already saved by the C caller of arch_switch_to).
bits 64
%include "asm/callee_saved.inc"
default rel
section .text

; void arch_switch_to(uint64_t *prev_sp, uint64_t next_sp)
global arch_switch_to
arch_switch_to:
	push rbp
	PUSH_CALLEE_SAVED
	mov [rdi], rsp
	mov rsp, rsi
	POP_CALLEE_SAVED
	pop rbp
	ret

; First "return" of a new task lands here with the entry function in r12.
global task_first_switch
task_first_switch:
	xor ebp, ebp            ; end of the frame chain for backtraces
	push 0                  ; fake return address, keeps ABI alignment
	jmp r12

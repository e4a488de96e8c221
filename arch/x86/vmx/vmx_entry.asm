; VM entry and VM exit (Intel SDM vol 3C, 27 "VM entries", 28 "VM exits").
;
; int vmx_enter(struct vmx_guest_regs *regs, int launched)
;
; Saves the host's callee-saved registers (System V ABI) on the stack,
; points HOST_RSP at that stack, loads the guest's general registers from
; *regs and executes VMLAUNCH (launched == 0) or VMRESUME.  RSP, RIP and
; RFLAGS of the guest live in the VMCS.
;
; A VM exit loads the host state from the VMCS (28.5): RIP = vmx_exit_stub,
; RSP = the HOST_RSP written here, RFLAGS = 0x2 (interrupts stay off) and
; every other general register still holds the guest's value.  The stub
; stores them into *regs (whose address it finds on the stack) and returns
; VMX_OK (0) from vmx_enter.
;
; If VMLAUNCH/VMRESUME itself fails (VMfailValid: ZF=1, the VM-instruction
; error field says why; VMfailInvalid: CF=1, no current VMCS), execution
; continues after it, and vmx_enter returns 1 or 2 (VMX_FAIL_VALID,
; VMX_FAIL_INVALID).  A VM entry that fails on the guest-state checks is a
; VM exit with bit 31 of the exit reason set (27.8): it lands in the stub.

bits 64
%include "asm/callee_saved.inc"
default rel
section .text

; struct vmx_guest_regs (vmx_internal.h; the C side asserts the offsets)
%define R_RAX 0
%define R_RBX 8
%define R_RCX 16
%define R_RDX 24
%define R_RBP 32
%define R_RSI 40
%define R_RDI 48
%define R_R8  56
%define R_R9  64
%define R_R10 72
%define R_R11 80
%define R_R12 88
%define R_R13 96
%define R_R14 104
%define R_R15 112

%define HOST_RSP 0x6C14         ; VMCS field encoding (appendix B.4.4)

global vmx_enter, vmx_exit_stub
vmx_enter:
	push rbp
	mov rbp, rsp
	PUSH_CALLEE_SAVED
	push rdi                ; regs: at [HOST_RSP] after a VM exit

	mov rax, HOST_RSP
	vmwrite rax, rsp
	jc .fail_invalid
	jz .fail_valid

	test esi, esi           ; launched?  The moves below keep ZF.
	mov rax, [rdi + R_RAX]
	mov rcx, [rdi + R_RCX]
	mov rdx, [rdi + R_RDX]
	mov rbx, [rdi + R_RBX]
	mov rbp, [rdi + R_RBP]
	mov rsi, [rdi + R_RSI]
	mov r8,  [rdi + R_R8]
	mov r9,  [rdi + R_R9]
	mov r10, [rdi + R_R10]
	mov r11, [rdi + R_R11]
	mov r12, [rdi + R_R12]
	mov r13, [rdi + R_R13]
	mov r14, [rdi + R_R14]
	mov r15, [rdi + R_R15]
	mov rdi, [rdi + R_RDI]
	jnz .resume
	vmlaunch
	jmp .failed
.resume:
	vmresume
.failed:
	; Still on our stack with the guest's registers loaded; the flags
	; tell which failure (31.2 "Conventions").
	jc .fail_invalid
.fail_valid:
	mov eax, 1
	jmp vmx_enter_return
.fail_invalid:
	mov eax, 2
	jmp vmx_enter_return

vmx_exit_stub:
	push rdi                ; guest rdi
	mov rdi, [rsp + 8]      ; regs
	mov [rdi + R_RAX], rax
	mov [rdi + R_RCX], rcx
	mov [rdi + R_RDX], rdx
	mov [rdi + R_RBX], rbx
	mov [rdi + R_RBP], rbp
	mov [rdi + R_RSI], rsi
	mov [rdi + R_R8],  r8
	mov [rdi + R_R9],  r9
	mov [rdi + R_R10], r10
	mov [rdi + R_R11], r11
	mov [rdi + R_R12], r12
	mov [rdi + R_R13], r13
	mov [rdi + R_R14], r14
	mov [rdi + R_R15], r15
	pop rax
	mov [rdi + R_RDI], rax
	xor eax, eax

vmx_enter_return:
	add rsp, 8              ; regs
	POP_CALLEE_SAVED
	pop rbp
	ret

; One trip into an SVM guest and back (AMD APM vol 2, 15.5 "VMRUN
; Instruction", 15.5.2 "VMSAVE and VMLOAD Instructions", 15.6 "#VMEXIT").
;
; void svm_vmrun(uint64_t vmcb_pa, struct svm_guest_regs *regs,
;                uint64_t host_vmsave_pa)
;
; Called with GIF clear (CLGI), so no interrupt or NMI can see the
; half-switched state in between; the C caller sets GIF again after.
;
; VMRUN saves and restores only part of the host (RIP, RSP, RAX, RFLAGS,
; CR0/3/4, EFER, ES/CS/SS/DS, GDTR, IDTR) in the VM_HSAVE_PA area, and loads
; only that part of the guest.  The rest of the processor state that a guest
; may change -- FS, GS, TR, LDTR with their hidden parts, KernelGsBase,
; STAR/LSTAR/CSTAR/SFMASK, SYSENTER_* -- is moved by VMLOAD/VMSAVE, so:
;   VMLOAD guest, VMRUN, VMSAVE guest, VMLOAD host.
; The host's half was saved by VMSAVE once, when SVM was enabled on this
; CPU (svm_cpu.c says why that stays valid), into host_vmsave_pa.
; The host's GS base (per-CPU data) is therefore wrong between the first
; VMLOAD and the last: nothing here touches gs.
; The general registers other than RAX and RSP are ours to switch.

bits 64
%include "asm/callee_saved.inc"
default rel
section .text

%define REG_RBX   0
%define REG_RCX   8
%define REG_RDX  16
%define REG_RSI  24
%define REG_RDI  32
%define REG_RBP  40
%define REG_R8   48
%define REG_R9   56
%define REG_R10  64
%define REG_R11  72
%define REG_R12  80
%define REG_R13  88
%define REG_R14  96
%define REG_R15 104

global svm_vmrun
svm_vmrun:
	push rbp
	mov rbp, rsp
	PUSH_CALLEE_SAVED
	push rsi                        ; [rsp+16] regs
	push rdi                        ; [rsp+8]  vmcb_pa
	push rdx                        ; [rsp]    host_vmsave_pa

	mov rax, rsi                    ; guest GPRs in
	mov rbx, [rax + REG_RBX]
	mov rcx, [rax + REG_RCX]
	mov rdx, [rax + REG_RDX]
	mov rsi, [rax + REG_RSI]
	mov rdi, [rax + REG_RDI]
	mov rbp, [rax + REG_RBP]
	mov r8,  [rax + REG_R8]
	mov r9,  [rax + REG_R9]
	mov r10, [rax + REG_R10]
	mov r11, [rax + REG_R11]
	mov r12, [rax + REG_R12]
	mov r13, [rax + REG_R13]
	mov r14, [rax + REG_R14]
	mov r15, [rax + REG_R15]

	mov rax, [rsp + 8]              ; VMCB physical address
	vmload
	vmrun                           ; ... #VMEXIT: RAX and RSP are the host's again
	vmsave

	mov rax, [rsp + 16]             ; guest GPRs out
	mov [rax + REG_RBX], rbx
	mov [rax + REG_RCX], rcx
	mov [rax + REG_RDX], rdx
	mov [rax + REG_RSI], rsi
	mov [rax + REG_RDI], rdi
	mov [rax + REG_RBP], rbp
	mov [rax + REG_R8],  r8
	mov [rax + REG_R9],  r9
	mov [rax + REG_R10], r10
	mov [rax + REG_R11], r11
	mov [rax + REG_R12], r12
	mov [rax + REG_R13], r13
	mov [rax + REG_R14], r14
	mov [rax + REG_R15], r15

	mov rax, [rsp]
	vmload                          ; host FS/GS/TR/LDTR back

	add rsp, 24
	POP_CALLEE_SAVED
	pop rbp
	ret

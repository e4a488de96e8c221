; Saving and restoring the boot CPU across ACPI S3 (suspend to RAM).
;
; In S3 the processor loses all of its state (ACPI 6.5, 16.1.3 "S3 Sleeping
; State": "processor ... context is lost"); the firmware wakes it in real
; mode at the FACS waking vector, which is the S3 entry of the trampoline
; (trampoline.asm).  That code climbs to 64-bit mode on the kernel page
; tables and jumps here.  What is lost and must be put back before C can
; run: EFER, CR4, CR3, CR0, the GDT and the segment registers, the task
; register, the IDT, the FS/GS bases (the per-CPU pointer lives in GS base)
; and the stack; then we return into the C function that saved the context
; as if s3_save_context() had returned a second time, with 1.
; The layout of struct s3_context is in arch/x86/include/asm/s3.h.
bits 64
default rel
section .text

%define MSR_EFER            0xC0000080
%define MSR_FS_BASE         0xC0000100
%define MSR_GS_BASE         0xC0000101
%define MSR_KERNEL_GS_BASE  0xC0000102

%define CTX_RBX     0
%define CTX_RBP     8
%define CTX_R12     16
%define CTX_R13     24
%define CTX_R14     32
%define CTX_R15     40
%define CTX_RSP     48
%define CTX_RIP     56
%define CTX_RFLAGS  64
%define CTX_CR0     72
%define CTX_CR3     80
%define CTX_CR4     88
%define CTX_EFER    96
%define CTX_FS_BASE 104
%define CTX_GS_BASE 112
%define CTX_KGS_BASE 120
%define CTX_GDTR    128
%define CTX_IDTR    144
%define CTX_CS      160
%define CTX_DS      162
%define CTX_ES      164
%define CTX_SS      166
%define CTX_FS      168
%define CTX_GS      170
%define CTX_TR      172

; int s3_save_context(struct s3_context *ctx)   (rdi = ctx)
global s3_save_context
s3_save_context:
	mov [rdi + CTX_RBX], rbx
	mov [rdi + CTX_RBP], rbp
	mov [rdi + CTX_R12], r12
	mov [rdi + CTX_R13], r13
	mov [rdi + CTX_R14], r14
	mov [rdi + CTX_R15], r15
	lea rax, [rsp + 8]              ; the caller's stack pointer after our ret
	mov [rdi + CTX_RSP], rax
	mov rax, [rsp]                  ; our return address
	mov [rdi + CTX_RIP], rax
	pushfq
	pop qword [rdi + CTX_RFLAGS]
	mov rax, cr0
	mov [rdi + CTX_CR0], rax
	mov rax, cr3
	mov [rdi + CTX_CR3], rax
	mov rax, cr4
	mov [rdi + CTX_CR4], rax
	mov ecx, MSR_EFER
	rdmsr
	mov [rdi + CTX_EFER], eax
	mov [rdi + CTX_EFER + 4], edx
	mov ecx, MSR_FS_BASE
	rdmsr
	mov [rdi + CTX_FS_BASE], eax
	mov [rdi + CTX_FS_BASE + 4], edx
	mov ecx, MSR_GS_BASE
	rdmsr
	mov [rdi + CTX_GS_BASE], eax
	mov [rdi + CTX_GS_BASE + 4], edx
	mov ecx, MSR_KERNEL_GS_BASE
	rdmsr
	mov [rdi + CTX_KGS_BASE], eax
	mov [rdi + CTX_KGS_BASE + 4], edx
	sgdt [rdi + CTX_GDTR]
	sidt [rdi + CTX_IDTR]
	mov [rdi + CTX_CS], cs
	mov [rdi + CTX_DS], ds
	mov [rdi + CTX_ES], es
	mov [rdi + CTX_SS], ss
	mov [rdi + CTX_FS], fs
	mov [rdi + CTX_GS], gs
	str word [rdi + CTX_TR]
	xor eax, eax
	ret

; Entered from trampoline.asm (tr_s3_long): 64-bit mode, interrupts off,
; CR3 = the kernel page tables, the trampoline's GDT, no stack.
global s3_resume_entry
s3_resume_entry:
	mov rdi, [s3_resume_ctx]
	; EFER first: NXE must be set before CR3 switches to tables whose NX
	; bits would otherwise be reserved bits (SDM vol 3, 4.5 "4-Level Paging":
	; bit 63 of an entry is reserved while IA32_EFER.NXE = 0).
	mov ecx, MSR_EFER
	mov eax, [rdi + CTX_EFER]
	mov edx, [rdi + CTX_EFER + 4]
	wrmsr
	mov rax, [rdi + CTX_CR4]
	mov cr4, rax
	mov rax, [rdi + CTX_CR3]
	mov cr3, rax
	mov rax, [rdi + CTX_CR0]
	mov cr0, rax
	; The saved stack: everything below the saved RSP is free (the C
	; frame that called s3_save_context is above it; no red zone).
	mov rsp, [rdi + CTX_RSP]
	lgdt [rdi + CTX_GDTR]
	mov ax, [rdi + CTX_DS]
	mov ds, ax
	mov ax, [rdi + CTX_ES]
	mov es, ax
	mov ax, [rdi + CTX_SS]
	mov ss, ax
	mov ax, [rdi + CTX_FS]
	mov fs, ax
	mov ax, [rdi + CTX_GS]
	mov gs, ax
	; Reload CS from the kernel GDT with a far return.
	movzx eax, word [rdi + CTX_CS]
	push rax
	lea rax, [.cs_reloaded]
	push rax
	o64 retf
.cs_reloaded:
	; LTR faults on a busy TSS descriptor, and the one in the GDT is still
	; marked busy from the LTR at boot: set its type back to "available"
	; (type 1011b -> 1001b; SDM vol 3, "TSS Descriptor" and "Task Management in
	; 64-bit Mode", 8.2.2 and 8.7).
	movzx eax, word [rdi + CTX_TR]
	test eax, eax
	jz .no_tr
	and eax, ~7
	mov rdx, [rdi + CTX_GDTR + 2]
	and byte [rdx + rax + 5], ~0x02
	ltr word [rdi + CTX_TR]
.no_tr:
	lidt [rdi + CTX_IDTR]
	; The bases after the selectors: loading a selector into FS/GS may
	; change the hidden base (SDM vol 3, 3.4.4.1 "Segment Loading Instructions
	; in IA-32e Mode").
	mov ecx, MSR_FS_BASE
	mov eax, [rdi + CTX_FS_BASE]
	mov edx, [rdi + CTX_FS_BASE + 4]
	wrmsr
	mov ecx, MSR_GS_BASE
	mov eax, [rdi + CTX_GS_BASE]
	mov edx, [rdi + CTX_GS_BASE + 4]
	wrmsr
	mov ecx, MSR_KERNEL_GS_BASE
	mov eax, [rdi + CTX_KGS_BASE]
	mov edx, [rdi + CTX_KGS_BASE + 4]
	wrmsr
	mov rbx, [rdi + CTX_RBX]
	mov rbp, [rdi + CTX_RBP]
	mov r12, [rdi + CTX_R12]
	mov r13, [rdi + CTX_R13]
	mov r14, [rdi + CTX_R14]
	mov r15, [rdi + CTX_R15]
	push qword [rdi + CTX_RFLAGS]
	popfq
	mov eax, 1
	jmp [rdi + CTX_RIP]

section .data
align 8
global s3_resume_ctx
s3_resume_ctx: dq 0

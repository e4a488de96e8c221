; AP start-up trampoline and ACPI S3 waking vector.
;
; It is copied to the page below 1 MiB that the loader reserved
; (boot_info.trampoline_phys) and entered in real mode:
;  - by an AP at offset 0 with CS = page >> 4 (SDM vol 3, 9.4.4.1: the SIPI
;    vector VV starts the AP at 000VV000h);
;  - by the boot CPU at tr_s3_wake after an ACPI S3 resume: the firmware
;    jumps to the FACS Firmware_Waking_Vector in real mode with
;    CS = vector >> 4, IP = vector & 0Fh (ACPI 6.5, 5.2.10 Table 5.14);
;    tr_s3_wake first rebases CS to the page, after which both paths share
;    the same code.
; It climbs to protected mode, then to long mode with the kernel's page
; tables (SDM vol 3, 10.8.5 "Initializing IA-32e mode").  An AP then takes a
; stack by ticket (so any number of APs can run it at the same time) and
; calls the kernel's C entry; the S3 path jumps to the kernel's resume code
; (arch/x86/s3_wake.asm), which needs no stack of its own.  ESI tells the
; two apart (0: AP, 1: S3): it survives the mode switches untouched.
;
; Everything is addressed relative to trampoline_start; the few absolute
; addresses (GDT base, far-jump targets) are patched into the data block at
; the end by smp_boot.c before the first SIPI and by s3.c before entering
; S3, which also patches the segment of the far jump at tr_s3_wake.
bits 16
section .rodata
align 16
global trampoline_start, trampoline_end

%define OFF(x) ((x) - trampoline_start)

trampoline_start:
	cli
	cld
	xor esi, esi                    ; AP start-up
tr_common:
	mov ax, cs
	mov ds, ax
	mov es, ax
	mov ss, ax
	; Load the GDT (its linear address was patched into tr_gdtr).
	o32 lgdt [OFF(tr_gdtr)]
	; ebx = linear base of the trampoline, for the code after the switch
	; (it is not linked at its run address).
	xor ebx, ebx
	mov bx, cs
	shl ebx, 4
	mov eax, cr0
	or eax, 1                       ; CR0.PE
	mov cr0, eax
	; 32-bit far jump through a patched 16:32 pointer.
	jmp dword far [OFF(tr_pm_jump)]

; ACPI S3 waking vector (the FACS points here).  Interrupts and the stack
; are the firmware's: take neither.
align 16
tr_s3_wake:
	cli
	cld
	; Rebase to CS = page >> 4 with a direct far jump, whose target is in
	; the instruction itself: it reads nothing relative to the firmware's
	; CS, so any CS:IP split of the vector works (some firmware uses
	; another split than the spec's).  The segment is patched by s3.c.
	db 0xEA                         ; JMP ptr16:16 (SDM vol 2, JMP)
	dw OFF(tr_s3_rebased)
tr_s3_seg:
	dw 0                            ; the page's real-mode segment (patched)
tr_s3_rebased:
	mov ax, cs
	mov ds, ax
	; When did the firmware hand over?  The TSC keeps counting in S3
	; under QEMU; the kernel checks that it did not go backwards.
	rdtsc
	mov [OFF(tr_s3_wake_tsc)], eax
	mov [OFF(tr_s3_wake_tsc) + 4], edx
	mov esi, 1                      ; S3 resume
	jmp tr_common

bits 32
tr_pm_entry:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr4
	or eax, (1 << 5)                ; CR4.PAE
	mov cr4, eax
	mov eax, [ebx + OFF(tr_cr3)]
	mov cr3, eax
	mov ecx, 0xC0000080             ; IA32_EFER
	rdmsr
	or eax, (1 << 8)                ; LME
	mov edx, [ebx + OFF(tr_efer_nx)]
	or eax, edx                     ; NXE when the kernel uses NX bits
	xor edx, edx
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16) | 1 ; PG, WP, PE
	mov cr0, eax
	jmp far [ebx + OFF(tr_lm_jump)]

bits 64
tr_lm_entry:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov ebx, ebx                    ; rbx = trampoline base (zero-extended)
	test esi, esi
	jnz tr_s3_long
	; Take a ticket: the n-th AP through here uses stacks[n].
	mov eax, 1
	lock xadd [rbx + OFF(tr_ticket)], eax
	mov rdx, [rbx + OFF(tr_stacks)]
	mov rsp, [rdx + rax * 8]
	xor ebp, ebp
	mov rdi, rax                    ; ticket number, for diagnostics
	mov rax, [rbx + OFF(tr_entry)]
	push 0                          ; fake return address: ends backtraces
	jmp rax

tr_s3_long:
	; The kernel's resume code restores the stack and everything else.
	mov rax, [rbx + OFF(tr_s3_entry)]
	jmp rax

align 16
; ---- data block, patched by arch/x86/smp_boot.c and arch/x86/s3.c ----
global tr_pm_entry, tr_lm_entry, tr_gdtr, tr_pm_jump, tr_lm_jump, tr_cr3, tr_efer_nx, tr_ticket, tr_stacks, tr_entry, tr_gdt
global tr_s3_wake, tr_s3_seg, tr_s3_entry, tr_s3_wake_tsc
tr_gdt:
	dq 0
	dq 0x00CF9A000000FFFF           ; 0x08: 32-bit code, flat
	dq 0x00CF92000000FFFF           ; 0x10: data, flat
	dq 0x00AF9A000000FFFF           ; 0x18: 64-bit code
tr_gdt_end:
tr_gdtr:
	dw tr_gdt_end - tr_gdt - 1
	dd 0                            ; linear address of tr_gdt (patched)
align 8
tr_pm_jump:
	dd 0                            ; linear address of tr_pm_entry (patched)
	dw 0x08
align 8
tr_lm_jump:
	dd 0                            ; linear address of tr_lm_entry (patched)
	dw 0x18
align 8
tr_cr3:      dd 0
tr_efer_nx:  dd 0
tr_ticket:   dd 0
align 8
tr_stacks:   dq 0                       ; pointer to an array of stack tops
tr_entry:    dq 0                       ; kernel C entry (void ap_entry(unsigned ticket))
tr_s3_entry: dq 0                       ; kernel S3 resume entry (s3_resume_entry)
tr_s3_wake_tsc: dq 0                    ; TSC when the firmware jumped to tr_s3_wake
trampoline_end:

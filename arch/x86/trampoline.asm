; AP start-up trampoline (and, later, the ACPI S3 waking vector).
;
; It is copied to the page below 1 MiB that the loader reserved
; (boot_info.trampoline_phys) and entered in real mode at offset 0 with
; CS = page >> 4 (SDM vol 3, 9.4.4.1: the SIPI vector VV starts the AP at
; 000VV000h).  It climbs to protected mode, then to long mode with the
; kernel's page tables (SDM vol 3, 9.8.5 "Initializing IA-32e mode"), takes
; a stack by ticket (so any number of APs can run it at the same time) and
; calls the kernel's C entry.
;
; Everything is addressed relative to trampoline_start; the few absolute
; addresses (GDT base, far-jump targets) are patched by smp_boot.c into the
; data block at the end before the first SIPI.
bits 16
section .rodata
align 16
global trampoline_start, trampoline_end

%define OFF(x) ((x) - trampoline_start)

trampoline_start:
	cli
	cld
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

align 16
; ---- data block, patched by arch/x86/smp_boot.c ----
global tr_pm_entry, tr_lm_entry, tr_gdtr, tr_pm_jump, tr_lm_jump, tr_cr3, tr_efer_nx, tr_ticket, tr_stacks, tr_entry, tr_gdt
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
trampoline_end:

; SPDX-License-Identifier: MIT
;
; The Multiboot2 entry: from GRUB's 32-bit protected mode to the kernel's
; common 64-bit entry (_start64, arch/x86/entry.asm).
;
; Machine state at entry (Multiboot2 specification, version 2.0,
; 3.3 "I386 machine state"):
; EAX = 0x36D76289, EBX = physical address of the boot information (MBI),
; CS/DS/ES/FS/GS/SS flat 4 GiB segments, A20 on, CR0.PE = 1, CR0.PG = 0,
; EFLAGS.IF = 0, ESP undefined, GDTR "may be invalid", IDTR undefined.
;
; What happens here:
;  1. load our own GDT and flat segments, take a stack inside the image;
;  2. check EAX and that the CPU has CPUID and long mode, else say so on the
;     VGA text screen and COM1 and halt;
;  3. build page tables inside the image: identity map of 0..4 GiB (what
;     include/vigil/boot_info.h promises the kernel) and the kernel window
;     0xFFFFFFFF80000000 -> physical 0 (1 GiB), both with 2 MiB pages;
;  4. switch to long mode in the order of SDM vol 3, 10.8.5 "Initializing
;     IA-32e mode" (CR4.PAE, CR3, EFER.LME, CR0.PG, far jump to a 64-bit
;     code segment);
;  5. in 64-bit mode jump to the high-half link address, convert the MBI into
;     a struct boot_info (mb2_info.c) and jump to _start64 with RDI = the
;     boot_info's physical address.
;
; Until paging is on, code runs at its physical address while nasm/ld know
; it by its link address, so every absolute address below is PHYS(sym)
; (mb2_defs.inc).  Everything this file writes (page tables, stack) lives
; inside the kernel image, which mb2_info.c reports as BOOT_MEM_KERNEL.

; nasm resolves %include against the working directory: the repository root.
%include "boot/multiboot2/mb2_defs.inc"

extern mb2_build_boot_info   ; uint64_t mb2_build_boot_info(uint32_t mbi_phys)
extern _start64

global mb2_entry32

; GDT selectors (mb2_gdt below)
GDT_CODE64 equ 0x08
GDT_DATA   equ 0x10
GDT_CODE32 equ 0x18

; Control registers and EFER (SDM vol 3, 2.5 "Control registers", 2.2.1
; "Extended feature enable register")
CR0_PG    equ 1 << 31
CR4_PAE   equ 1 << 5
CR4_LA57  equ 1 << 12
MSR_EFER  equ 0xC0000080
EFER_LME  equ 1 << 8
EFER_NXE  equ 1 << 11

; Paging-structure entry bits (SDM vol 3, 4.5 "4-level paging")
PTE_P  equ 1 << 0
PTE_W  equ 1 << 1
PTE_PS equ 1 << 7

; CPUID.80000001H:EDX (SDM vol 2A, CPUID)
CPUID_NX equ 1 << 20
CPUID_LM equ 1 << 29
EFLAGS_ID equ 1 << 21

COM1     equ 0x3F8
VGA_TEXT equ 0xB8000

;------------------------------------------------------------------------------
section .text.boot32 progbits alloc exec nowrite align=16
bits 32

mb2_entry32:
	cli
	cld
	mov esi, eax                       ; loader magic
	mov edi, ebx                       ; MBI physical address

	; The loader's GDT may be gone or anywhere; take ours before touching
	; any segment register.  The far jump reloads CS with our 32-bit code
	; selector.
	lgdt [PHYS(mb2_gdt_ptr)]
	mov ax, GDT_DATA
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov esp, PHYS(mb2_stack_top)
	jmp GDT_CODE32:PHYS(.flat)
.flat:
	cmp esi, MB2_BOOTLOADER_MAGIC
	jne .bad_magic
	mov [PHYS(mb2_mbi_phys)], edi

	; CPUID exists when EFLAGS.ID can be toggled (SDM vol 1, 3.4.3.3
	; "System flags and IOPL field").
	pushfd
	pop eax
	mov ecx, eax
	xor eax, EFLAGS_ID
	push eax
	popfd
	pushfd
	pop eax
	push ecx
	popfd
	xor eax, ecx
	test eax, EFLAGS_ID
	jz .no_cpuid

	; Long mode: CPUID.80000001H:EDX.LM (needs max extended leaf >= 80000001H).
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, CPUID_LM
	jz .no_long_mode
	mov ebp, edx                       ; keep the NX bit for EFER below

	; Mask both 8259 PICs (OCW1 = 0xFF on ports 0x21 and 0xA1).  A PC
	; BIOS leaves them unmasked with the master at vectors 8..15, where an
	; IRQ would look like a CPU exception once the kernel enables
	; interrupts; the kernel uses the local and I/O APICs only.
	mov al, 0xFF
	out 0xA1, al
	out 0x21, al

	; Page tables.  Zero them first: a loader that does not clear .bss
	; would otherwise leave stray entries.
	mov edi, PHYS(mb2_page_tables)
	mov ecx, MB2_PT_BYTES / 4
	xor eax, eax
	rep stosd

	; PML4[0] -> identity PDPT, PML4[511] -> kernel-window PDPT
	mov dword [PHYS(mb2_pml4)], PHYS(mb2_pdpt_ident) + PTE_P + PTE_W
	mov dword [PHYS(mb2_pml4) + 511 * 8], PHYS(mb2_pdpt_kernel) + PTE_P + PTE_W

	; Identity PDPT[0..3] -> the four page directories (GiB 0..3).
	mov dword [PHYS(mb2_pdpt_ident) + 0 * 8], PHYS(mb2_pd) + 0 * 4096 + PTE_P + PTE_W
	mov dword [PHYS(mb2_pdpt_ident) + 1 * 8], PHYS(mb2_pd) + 1 * 4096 + PTE_P + PTE_W
	mov dword [PHYS(mb2_pdpt_ident) + 2 * 8], PHYS(mb2_pd) + 2 * 4096 + PTE_P + PTE_W
	mov dword [PHYS(mb2_pdpt_ident) + 3 * 8], PHYS(mb2_pd) + 3 * 4096 + PTE_P + PTE_W

	; Kernel window: 0xFFFFFFFF80000000 is PML4 index 511, PDPT index 510.
	; Reusing the first page directory (physical 0..1 GiB) maps
	; KERNEL_VIRT_BASE (0xFFFFFFFF80200000) onto KERNEL_PHYS_BASE (0x200000).
	mov dword [PHYS(mb2_pdpt_kernel) + 510 * 8], PHYS(mb2_pd) + PTE_P + PTE_W

	; 2048 2 MiB pages: entry i maps physical i * 2 MiB.  All of them stay
	; below 4 GiB, so the high halves of the entries stay zero.  The large
	; page over the first MiB is fine: the processor splits pages that
	; overlap the fixed-range MTRRs (SDM vol 3, 12.11.9 "Large page size
	; considerations"); MMIO holes get their UC type from the MTRRs.
	xor ecx, ecx
.fill_pd:
	mov eax, ecx
	shl eax, 21
	or eax, PTE_P + PTE_W + PTE_PS
	mov [PHYS(mb2_pd) + ecx * 8], eax
	inc ecx
	cmp ecx, 4 * 512
	jb .fill_pd

	; SDM vol 3, 10.8.5 "Initializing IA-32e mode": (1) paging is off (the
	; loader left CR0.PG = 0); (2) enable PAE; (3) point CR3 at the PML4,
	; which must lie below 4 GiB since only 32 bits of CR3 are written
	; here; (4) set EFER.LME; (5) enable paging, which activates IA-32e
	; mode (EFER.LMA = 1).  CS must not have L = 1 at that point (a #GP
	; consistency check): it is our 32-bit selector.  CR4.LA57 must stay
	; clear: these are 4-level tables.
	mov eax, cr4
	or eax, CR4_PAE
	and eax, ~CR4_LA57
	mov cr4, eax

	mov eax, PHYS(mb2_pml4)
	mov cr3, eax

	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	test ebp, CPUID_NX
	jz .no_nx
	or eax, EFER_NXE                   ; the kernel maps data no-execute
.no_nx:
	wrmsr

	; This MOV and the jump after it run from identity-mapped pages, as
	; 10.8.5 requires.
	mov eax, cr0
	or eax, CR0_PG
	mov cr0, eax

	; Now in compatibility mode; a far jump to a code segment with L = 1
	; enters 64-bit mode (SDM vol 3, 10.8.5 and 5.2.1 "Code-segment
	; descriptor in 64-bit mode").
	jmp GDT_CODE64:PHYS(.long_mode)

.bad_magic:
	mov esi, PHYS(msg_bad_magic)
	jmp mb2_fail32
.no_cpuid:
	mov esi, PHYS(msg_no_cpuid)
	jmp mb2_fail32
.no_long_mode:
	mov esi, PHYS(msg_no_long_mode)
	jmp mb2_fail32

bits 64
.long_mode:
	; Still at the physical (identity-mapped) address.  Data segment
	; registers are mostly ignored in 64-bit mode, but load known values.
	mov ax, GDT_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rax, qword mb2_entry64         ; absolute link address (high half)
	jmp rax

mb2_entry64:
	; Running at the link address now.  Same stack, seen through the
	; kernel window.
	lea rsp, [rel mb2_stack_top]
	xor ebp, ebp                       ; terminates backtraces
	mov edi, [rel mb2_mbi_phys]        ; zero-extends into RDI
	call mb2_build_boot_info           ; returns the boot_info's physical address
	mov rdi, rax
	jmp _start64                       ; never returns

;------------------------------------------------------------------------------
; mb2_fail32: ESI = physical address of a NUL-terminated message.  Put it on
; the first line of the VGA text screen (white on red) and on COM1, then halt
; for good.  Uses no stack.
bits 32
mb2_fail32:
	; COM1: 115200 8N1, FIFOs on (16550: DLAB, divisor 1, LCR, FCR, MCR).
	mov dx, COM1 + 1
	xor al, al
	out dx, al                         ; IER: no interrupts
	mov dx, COM1 + 3
	mov al, 0x80
	out dx, al                         ; LCR: DLAB
	mov dx, COM1 + 0
	mov al, 1
	out dx, al                         ; DLL
	mov dx, COM1 + 1
	xor al, al
	out dx, al                         ; DLM
	mov dx, COM1 + 3
	mov al, 0x03
	out dx, al                         ; LCR: 8N1
	mov dx, COM1 + 2
	mov al, 0xC7
	out dx, al                         ; FCR
	mov dx, COM1 + 4
	mov al, 0x03
	out dx, al                         ; MCR: DTR, RTS

	mov edi, VGA_TEXT
.next:
	mov bl, [esi]
	test bl, bl
	jz .done
	mov bh, 0x4F                       ; white on red
	mov [edi], bx
	add edi, 2
	; Wait (bounded: there may be no UART) for the transmitter to be empty.
	mov ecx, 100000
	mov dx, COM1 + 5
.wait_thre:
	in al, dx
	test al, 0x20
	jnz .send
	dec ecx
	jnz .wait_thre
.send:
	mov dx, COM1
	mov al, bl
	out dx, al
	inc esi
	jmp .next
.done:
	cli
	hlt
	jmp .done

;------------------------------------------------------------------------------
section .rodata

msg_bad_magic:
	db "vigil: not started by a Multiboot2 loader (bad EAX magic); halting", 13, 10, 0
msg_no_cpuid:
	db "vigil: this CPU has no CPUID instruction; halting", 13, 10, 0
msg_no_long_mode:
	db "vigil: this CPU does not support x86-64 long mode; halting", 13, 10, 0

; The GDT used from here until the kernel loads its own (arch/x86/gdt.c).
; Accessed bits are preset so the CPU never writes to it.
align 16
mb2_gdt:
	dq 0                               ; null
	dq 0x00AF9B000000FFFF              ; 0x08: code, 64-bit (L = 1), DPL 0
	dq 0x00CF93000000FFFF              ; 0x10: data, flat 4 GiB, writable
	dq 0x00CF9B000000FFFF              ; 0x18: code, 32-bit (D = 1), flat 4 GiB
mb2_gdt_end:

; LGDT operand in 32-bit mode: 16-bit limit, 32-bit physical base.
align 4
	dw 0
mb2_gdt_ptr:
	dw mb2_gdt_end - mb2_gdt - 1
	dd PHYS(mb2_gdt)

;------------------------------------------------------------------------------
; Scratch state, all inside the kernel image (BOOT_MEM_KERNEL in the memory map
; the kernel gets).  GRUB zero-fills .bss when it loads the ELF; the page
; tables are cleared again above anyway.  The kernel must not clear .bss
; before it runs on its own page tables (arch/x86/entry.asm does not).
section .bss

alignb 4096
mb2_page_tables:
mb2_pml4:
	resb 4096
mb2_pdpt_ident:
	resb 4096
mb2_pdpt_kernel:
	resb 4096
mb2_pd:
	resb 4 * 4096
MB2_PT_BYTES equ $ - mb2_page_tables

; The stack for this file and for mb2_build_boot_info.  _start64 takes its own.
alignb 16
mb2_stack:
	resb 16384
mb2_stack_top:

mb2_mbi_phys:
	resd 1

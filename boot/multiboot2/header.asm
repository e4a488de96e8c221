; SPDX-License-Identifier: MIT
;
; The Multiboot2 header (Multiboot2 specification, version 2.0, 3.1 "OS image
; format").  GRUB searches the first 32 KiB of the file for it, 8-byte aligned;
; arch/x86/kernel.ld puts section .multiboot2 first in .text so it sits right
; at the start of the first PT_LOAD segment.
;
; How GRUB 2.06 loads this kernel: the kernel is an ELF64 linked at
; KERNEL_VIRT_BASE (0xFFFFFFFF80200000) whose segments have p_paddr starting
; at 0x200000.  Without an address tag, GRUB's Multiboot2 ELF loader
; (grub-core/loader/multiboot_elfxx.c) places every PT_LOAD segment at its
; p_paddr, zero-fills p_memsz beyond p_filesz, and accepts an ELF64 whose
; entry point translates (e_entry - p_vaddr + p_paddr) to below 4 GiB.  The
; ELF entry (_start64) is 64-bit code, though, so the entry address tag
; (spec 3.1.6) overrides it with the physical address of the 32-bit entry.
; No address tag (3.1.5): that would load the file as a raw image, and the
; ELF file layout is not the memory layout.

; nasm resolves %include against the working directory: the repository root.
%include "boot/multiboot2/mb2_defs.inc"

bits 32

extern mb2_entry32

section .multiboot2 progbits alloc exec nowrite align=8

mb2_header:
	dd MB2_HEADER_MAGIC
	dd MB2_ARCH_I386                   ; i386 protected mode entry
	dd mb2_header_end - mb2_header     ; header_length
	dd -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header)) & 0xFFFFFFFF

	; 3.1.4 Information request: the tags mb2_info.c reads.  Not optional:
	; a loader that does not know one of these types must refuse to boot
	; us.  GRUB 2.06 knows them all, and passes whatever the machine has
	; (ACPI old or new, EGA text or a framebuffer) requested or not.
	align 8, db 0
.info_req:
	dw MB2_HDR_TAG_INFO_REQUEST
	dw 0                               ; flags: required
	dd .info_req_end - .info_req
	dd MB2_TAG_CMDLINE
	dd MB2_TAG_LOADER_NAME
	dd MB2_TAG_MMAP
	dd MB2_TAG_FRAMEBUFFER
	dd MB2_TAG_ACPI_OLD
	dd MB2_TAG_ACPI_NEW
.info_req_end:

	; 3.1.6 Entry address: GRUB jumps here (physical, 32-bit protected
	; mode, paging off).  The link-time value of mb2_entry32 is a high
	; virtual address; subtracting the virtual-to-physical offset leaves a
	; value that fits the 32-bit field (R_X86_64_32).
	align 8, db 0
.entry:
	dw MB2_HDR_TAG_ENTRY_ADDRESS
	dw 0
	dd .entry_end - .entry
	dd PHYS(mb2_entry32)
.entry_end:

	; 3.1.9 Flags tag (console flags): EGA text is supported (bit 1) and
	; no console is required (bit 0 clear): the serial port is the console.
	align 8, db 0
.console:
	dw MB2_HDR_TAG_CONSOLE_FLAGS
	dw 0
	dd .console_end - .console
	dd MB2_CONSOLE_EGA_TEXT_SUPPORTED
.console_end:

	; 3.1.10 Framebuffer: we prefer a 32 bpp linear framebuffer (the
	; framebuffer console draws only 32 bpp) but accept text mode, hence
	; the optional flag.  GRUB 2.06 turns this tag into gfxpayload
	; "1024x768x32,1024x768,auto" and ignores the depth unless width and
	; height are given too (with 0x0x32 QEMU's VGA ended up at 800x600x24).
	; grub.cfg overrides it with a list of 32 bpp modes and then text:
	; GRUB's "auto" may pick a paletted mode, which GRUB 2.06 crashes on
	; (boot/multiboot2/grub.cfg says why).
	align 8, db 0
.fb:
	dw MB2_HDR_TAG_FRAMEBUFFER
	dw MB2_HDR_TAG_OPTIONAL
	dd .fb_end - .fb
	dd 1024                            ; width
	dd 768                             ; height
	dd 32                              ; depth
.fb_end:

	; 3.1.11 Module alignment: page-align modules (GRUB always does).
	align 8, db 0
.modalign:
	dw MB2_HDR_TAG_MODULE_ALIGN
	dw 0
	dd .modalign_end - .modalign
.modalign_end:

	; End tag.
	align 8, db 0
	dw MB2_HDR_TAG_END
	dw 0
	dd 8
mb2_header_end:

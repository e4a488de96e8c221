/* SPDX-License-Identifier: MIT */
/*
 * The jump into the kernel.
 *
 * State at the kernel's entry point (boot_info.h, "Rules of the hand-over"):
 *   - 64-bit mode, CPL 0, interrupts off (cli), DF clear;
 *   - CR3 = the loader's tables (paging.c): identity map plus the kernel at
 *     KERNEL_VIRT_BASE;
 *   - RDI = physical (identity-mapped) address of struct boot_info;
 *   - RSP = top of a 16 KiB identity-mapped stack of VIGIL_KEEP_MEMORY_TYPE
 *     pages, with a zero "return address" pushed (RSP = 16n - 8, as on entry
 *     to any SysV function; a backtrace stops at 0); RBP = 0;
 *   - GDT, IDT, segment registers, EFER, CR0, CR4 (and PAT, MTRRs) as the
 *     firmware left them.  The GDT and IDT live in boot-services memory,
 *     which boot_info reports as usable: the kernel must load its own before
 *     it allocates anything or enables interrupts.
 * Everything here is register-to-register, so the loader being position
 * independent does not matter, and this code keeps running after the CR3
 * load because the identity map covers the loader's own pages.
 */
#include "loader.h"

#define STACK_PAGES 4

EFI_STATUS handoff_stack_alloc(UINT64 *stack_top)
{
	UINT64 base;
	EFI_STATUS st;

	st = keep_pages_below(SIZE_4GIB - 1, STACK_PAGES, &base);
	if (EFI_ERROR(st)) {
		log_error(L"no memory for the hand-over stack: %r", st);
		return st;
	}
	*stack_top = base + STACK_PAGES * EFI_PAGE_BYTES;
	return EFI_SUCCESS;
}

void handoff_jump(UINT64 cr3, UINT64 entry, UINT64 stack_top, UINT64 boot_info_phys)
{
	__asm__ volatile(
		"cli\n\t"
		"cld\n\t"
		"mov %[cr3], %%cr3\n\t"
		"mov %[stack], %%rsp\n\t"
		"xor %%ebp, %%ebp\n\t"
		"pushq $0\n\t"
		"jmp *%[entry]\n\t"
		:
		/* Fixed registers: none of them may be RBP, which is zeroed. */
		: [cr3] "a"(cr3), [stack] "d"(stack_top), [entry] "c"(entry),
		  "D"(boot_info_phys)
		: "memory");
	__builtin_unreachable();
}

void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* SPDX-License-Identifier: MIT */
/*
 * Pages the kernel keeps after the hand-over.
 *
 * They are allocated with VIGIL_KEEP_MEMORY_TYPE, so the final memory map
 * reports them as BOOT_MEM_KERNEL and the kernel never hands them out as free
 * RAM.  Every allocation is remembered so that a boot that fails half way can
 * give all of them back before returning to the firmware.
 */
#include "loader.h"

#define KEEP_MAX 32

static struct {
	UINT64 addr;
	UINTN pages;
} keep[KEEP_MAX];
static UINTN keep_count;

static EFI_STATUS record(UINT64 addr, UINTN pages)
{
	if (keep_count == KEEP_MAX) {
		BS->FreePages(addr, pages);
		log_error(L"more than %d kept allocations (loader bug)", KEEP_MAX);
		return EFI_OUT_OF_RESOURCES;
	}
	keep[keep_count].addr = addr;
	keep[keep_count].pages = pages;
	keep_count++;
	/* Firmware does not clear pages; page tables and bss must start zeroed. */
	ZeroMem((void *)(UINTN)addr, pages * EFI_PAGE_BYTES);
	return EFI_SUCCESS;
}

EFI_STATUS keep_pages_at(UINT64 addr, UINTN pages)
{
	EFI_PHYSICAL_ADDRESS a = addr;
	EFI_STATUS st;

	st = BS->AllocatePages(AllocateAddress, VIGIL_KEEP_MEMORY_TYPE, pages, &a);
	if (EFI_ERROR(st))
		return st;
	return record(a, pages);
}

EFI_STATUS keep_pages_below(UINT64 max_addr, UINTN pages, UINT64 *out)
{
	/* AllocateMaxAddress: the whole range ends at or below max_addr
	 * (UEFI 2.10 section 7.2, AllocatePages). */
	EFI_PHYSICAL_ADDRESS a = max_addr;
	EFI_STATUS st;

	st = BS->AllocatePages(AllocateMaxAddress, VIGIL_KEEP_MEMORY_TYPE, pages, &a);
	if (EFI_ERROR(st))
		return st;
	st = record(a, pages);
	if (!EFI_ERROR(st))
		*out = a;
	return st;
}

/*
 * AllocatePages only guarantees 4 KiB alignment.  For a larger alignment take
 * the request plus (align - 4 KiB) of slack and give the misaligned head and
 * tail back; FreePages accepts any page range inside an allocation (EDK II and
 * other firmware, and Linux's EFI stub relies on the same).
 */
EFI_STATUS keep_pages_aligned(UINT64 max_addr, UINTN pages, UINT64 align, UINT64 *out)
{
	UINTN slack = (UINTN)(align / EFI_PAGE_BYTES) - 1;
	EFI_PHYSICAL_ADDRESS a = max_addr;
	UINT64 aligned;
	UINTN head, tail;
	EFI_STATUS st;

	st = BS->AllocatePages(max_addr ? AllocateMaxAddress : AllocateAnyPages,
			       VIGIL_KEEP_MEMORY_TYPE, pages + slack, &a);
	if (EFI_ERROR(st))
		return st;
	aligned = ALIGN_UP(a, align);
	head = (UINTN)((aligned - a) / EFI_PAGE_BYTES);
	tail = slack - head;
	if (head)
		BS->FreePages(a, head);
	if (tail)
		BS->FreePages(aligned + pages * EFI_PAGE_BYTES, tail);
	st = record(aligned, pages);
	if (!EFI_ERROR(st))
		*out = aligned;
	return st;
}

void keep_release_all(void)
{
	while (keep_count) {
		keep_count--;
		BS->FreePages(keep[keep_count].addr, keep[keep_count].pages);
	}
}

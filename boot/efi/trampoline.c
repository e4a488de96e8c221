/* SPDX-License-Identifier: MIT */
/*
 * A page below 1 MiB for the AP start-up trampoline (and the ACPI S3 waking
 * vector, which the kernel points at the same code).
 *
 * Intel SDM Vol. 3A, "MP Initialization Protocol Algorithm for MP Systems"
 * and the ICR's Start-Up delivery mode: the SIPI vector is an 8-bit page
 * number, so APs start in real mode at VV000h, a 4 KiB-aligned address below
 * 1 MiB.  The page must stay clear of
 * the EBDA and legacy areas (from 0x9F000 up), hence the 0x9F000 ceiling.
 * Real firmware keeps little free memory down there, so failing is a warning
 * (the kernel then runs on the boot CPU only), not a failed boot.
 */
#include "loader.h"

#define TRAMPOLINE_MAX 0x9F000ULL
#define TRIES          4

UINT64 trampoline_alloc(void)
{
	UINT64 addr = 0;
	EFI_STATUS st = EFI_NOT_FOUND;
	UINTN i;

	/* Physical page 0 is a legal allocation but 0 means "none" in
	 * boot_info.  If the firmware hands out page 0, keep it (it is
	 * kernel-reserved memory like the rest) and ask again. */
	for (i = 0; i < TRIES; i++) {
		st = keep_pages_below(TRAMPOLINE_MAX, 1, &addr);
		if (EFI_ERROR(st) || addr != 0)
			break;
	}
	if (EFI_ERROR(st) || addr == 0) {
		log_warn(L"no free page below 0x%lx for the AP trampoline (%r); "
			 L"only the boot CPU will run", TRAMPOLINE_MAX, st);
		return 0;
	}
	log_info(L"AP trampoline page at 0x%lx", addr);
	return addr;
}

/* SPDX-License-Identifier: MIT */
/*
 * ExitBootServices, the UEFI 2.10 section 7.4 way.
 *
 * The MapKey passed in must come from the most recent GetMemoryMap; any
 * allocation in between (including the firmware's own, e.g. from a timer
 * event) makes it stale and ExitBootServices fails with
 * EFI_INVALID_PARAMETER.  Then the map is fetched again and the call
 * retried.  After the first attempt the firmware may already have shut part
 * of itself down, so from then on only GetMemoryMap is called: no console, no
 * allocation.  That is why the buffer was allocated with slack beforehand
 * (memmap_prepare).
 */
#include "loader.h"

#define EXIT_TRIES 8

EFI_STATUS exit_boot_services(EFI_HANDLE image, struct efi_mmap *m, BOOLEAN *gone)
{
	EFI_STATUS st;
	UINTN i;

	*gone = FALSE;
	for (i = 0; i < EXIT_TRIES; i++) {
		st = memmap_read(m);
		if (st == EFI_BUFFER_TOO_SMALL && !*gone) {
			/* Still allowed to allocate: grow the buffer and go again. */
			memmap_release(m);
			st = memmap_prepare(m);
			if (EFI_ERROR(st))
				return st;
			st = memmap_read(m);
		}
		if (EFI_ERROR(st))
			return st;
		*gone = TRUE;
		st = BS->ExitBootServices(image, m->key);
		if (st != EFI_INVALID_PARAMETER)
			return st;
	}
	return st;
}

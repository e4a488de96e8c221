/* SPDX-License-Identifier: MIT */
/*
 * Loader messages.  Everything goes through the firmware's ConOut (gnu-efi's
 * Print), which OVMF and most PC firmware mirror onto the serial console, so
 * a failed boot is readable both on a screen and in a serial log.
 *
 * Only valid while boot services are up: nothing here may run after
 * ExitBootServices (UEFI 2.10 section 7.4).
 */
#include "loader.h"

/* How long a failed boot keeps its message on screen before returning to the
 * firmware (which may clear the screen or try the next boot option). */
#define FAIL_STALL_US (5U * 1000U * 1000U)

static void vlog(const CHAR16 *prefix, const CHAR16 *fmt, va_list ap)
{
	Print(L"vigil-efi: %s", prefix);
	VPrint(fmt, ap);
	Print(L"\r\n");
}

void log_info(const CHAR16 *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(L"", fmt, ap);
	va_end(ap);
}

void log_warn(const CHAR16 *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(L"warning: ", fmt, ap);
	va_end(ap);
}

void log_error(const CHAR16 *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(L"error: ", fmt, ap);
	va_end(ap);
}

EFI_STATUS boot_failed(EFI_STATUS status)
{
	log_error(L"cannot boot vigil (%r); returning to the firmware in %d s",
		  status, FAIL_STALL_US / 1000000U);
	BS->Stall(FAIL_STALL_US);
	return status;
}

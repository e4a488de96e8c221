/* SPDX-License-Identifier: MIT */
/*
 * The framebuffer, from the Graphics Output Protocol (UEFI 2.10 section 12.9).
 *
 * The current mode is kept (the firmware picked it for the attached display).
 * The kernel gets a linear framebuffer only for the two 32-bit formats it
 * draws: PixelRedGreenBlueReserved8BitPerColor, PixelBlueGreenRedReserved8-
 * BitPerColor, and PixelBitMask when its masks spell one of those.
 * PixelBltOnly has no linear framebuffer at all: BOOT_FB_NONE, like no GOP.
 */
#include "loader.h"

static UINT32 bitmask_format(const EFI_PIXEL_BITMASK *m)
{
	if (m->RedMask == 0x000000ff && m->GreenMask == 0x0000ff00 && m->BlueMask == 0x00ff0000)
		return BOOT_FB_RGBX;
	if (m->RedMask == 0x00ff0000 && m->GreenMask == 0x0000ff00 && m->BlueMask == 0x000000ff)
		return BOOT_FB_BGRX;
	return BOOT_FB_NONE;
}

void gop_describe(struct boot_framebuffer *fb)
{
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;
	EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info;
	UINT32 format = BOOT_FB_NONE;
	EFI_STATUS st;

	SetMem(fb, sizeof(*fb), 0);
	fb->format = BOOT_FB_NONE;
	st = BS->LocateProtocol(&gEfiGraphicsOutputProtocolGuid, NULL, (void **)&gop);
	if (EFI_ERROR(st) || !gop || !gop->Mode || !gop->Mode->Info) {
		log_info(L"no graphics output; the kernel gets no framebuffer");
		return;
	}
	info = gop->Mode->Info;
	switch (info->PixelFormat) {
	case PixelRedGreenBlueReserved8BitPerColor:
		format = BOOT_FB_RGBX;
		break;
	case PixelBlueGreenRedReserved8BitPerColor:
		format = BOOT_FB_BGRX;
		break;
	case PixelBitMask:
		format = bitmask_format(&info->PixelInformation);
		break;
	default: /* PixelBltOnly: no linear framebuffer */
		break;
	}
	if (format == BOOT_FB_NONE || gop->Mode->FrameBufferBase == 0) {
		log_info(L"graphics mode %dx%d has no usable linear framebuffer (format %d)",
			 info->HorizontalResolution, info->VerticalResolution,
			 (UINT32)info->PixelFormat);
		return;
	}
	fb->base = gop->Mode->FrameBufferBase;
	fb->width = info->HorizontalResolution;
	fb->height = info->VerticalResolution;
	fb->pitch = info->PixelsPerScanLine * 4;
	fb->bpp = 32;
	fb->format = format;
	log_info(L"framebuffer %dx%d %a at 0x%lx, pitch %d", fb->width, fb->height,
		 format == BOOT_FB_RGBX ? "RGBX" : "BGRX", fb->base, fb->pitch);
}

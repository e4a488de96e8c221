/* SPDX-License-Identifier: MIT */
/*
 * The hand-over contract between a loader (boot/efi, boot/multiboot2) and the
 * kernel.  Both loaders fill the same structure, so the kernel never needs to
 * know which firmware booted it.
 *
 * Rules of the hand-over (both loaders):
 *  - 64-bit long mode, interrupts off, paging on with at least: an identity
 *    map of every physical range in mmap[] below 4 GiB (and of boot_info
 *    itself), and the kernel image mapped at its link address
 *    (KERNEL_VIRT_BASE -> kernel_phys_base).
 *  - The kernel is entered at its ELF entry point (_start64) with RDI holding
 *    the *physical* (identity-mapped) address of this structure.
 *  - Everything the kernel must not reuse (the kernel image, this structure,
 *    the loader's page tables, the trampoline page) appears in mmap[] with
 *    type BOOT_MEM_KERNEL or BOOT_MEM_RESERVED; the kernel only ever allocates
 *    from BOOT_MEM_USABLE ranges.
 */
#ifndef VIGIL_BOOT_INFO_H
#define VIGIL_BOOT_INFO_H

#include <stdint.h>

#define BOOT_INFO_MAGIC   0x4C49474956544F42ULL /* "BOOTVIGIL" -ish */
#define BOOT_INFO_VERSION 1

/* The kernel is linked at this virtual address; loaders map it there. */
#define KERNEL_VIRT_BASE    0xFFFFFFFF80200000ULL
/* Where the kernel prefers to sit physically (ELF p_paddr).  Multiboot2
 * always loads it here; the EFI loader uses it when free, else any address. */
#define KERNEL_DEFAULT_PHYS 0x200000ULL

#define BOOT_MMAP_MAX    512
#define BOOT_CMDLINE_MAX 1024

enum boot_mem_type {
	BOOT_MEM_USABLE = 1,      /* free RAM once the kernel runs */
	BOOT_MEM_RESERVED = 2,    /* firmware, MMIO, unusable */
	BOOT_MEM_ACPI_RECLAIM = 3,/* ACPI tables; keep (we read them) */
	BOOT_MEM_ACPI_NVS = 4,    /* must be preserved across S3 */
	BOOT_MEM_KERNEL = 5,      /* kernel image, boot_info, loader page tables */
	BOOT_MEM_BAD = 6,
};

enum boot_loader {
	BOOT_LOADER_EFI = 1,
	BOOT_LOADER_MULTIBOOT2 = 2,
};

struct boot_mem_region {
	uint64_t base;
	uint64_t length;
	uint32_t type;   /* enum boot_mem_type */
	uint32_t pad;
};

enum boot_fb_format {
	BOOT_FB_NONE = 0,
	BOOT_FB_RGBX = 1, /* byte 0 red, 1 green, 2 blue (32 bpp) */
	BOOT_FB_BGRX = 2, /* byte 0 blue, 1 green, 2 red (32 bpp) */
};

struct boot_framebuffer {
	uint64_t base;    /* physical; 0 when there is none */
	uint32_t width;   /* pixels */
	uint32_t height;
	uint32_t pitch;   /* bytes per scan line */
	uint32_t bpp;     /* bits per pixel (only 32 is used) */
	uint32_t format;  /* enum boot_fb_format */
	uint32_t pad;
};

struct boot_info {
	uint64_t magic;            /* BOOT_INFO_MAGIC */
	uint32_t version;          /* BOOT_INFO_VERSION */
	uint32_t loader;           /* enum boot_loader */
	uint64_t kernel_phys_base; /* physical address of KERNEL_VIRT_BASE */
	uint64_t kernel_size;      /* bytes from KERNEL_VIRT_BASE to the image end (incl. bss) */
	uint64_t rsdp_phys;        /* ACPI RSDP (v1 or v2), 0 when not found */
	uint64_t trampoline_phys;  /* a free 4 KiB page below 1 MiB for AP start and S3 wake; 0 if none */
	uint32_t mmap_count;
	uint32_t pad;
	struct boot_mem_region mmap[BOOT_MMAP_MAX]; /* sorted by base, non-overlapping */
	struct boot_framebuffer fb;
	char cmdline[BOOT_CMDLINE_MAX]; /* NUL-terminated, ASCII */
	char loader_name[64];           /* e.g. "vigil-efi 0.1 / EDK II" */
	/* Non-empty when the loader dropped or cut a bad command line (the
	 * kernel repeats it loudly in its log); NUL-terminated ASCII. */
	char cmdline_note[192];
};

#endif

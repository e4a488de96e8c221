/* SPDX-License-Identifier: MIT */
/*
 * The Multiboot2 boot information (MBI) as GRUB hands it over: Multiboot2
 * specification, version 2.0, 3.6 "Boot information".  Only what
 * mb2_info.c reads.  The assembly side has its numbers in mb2_defs.inc.
 */
#ifndef VIGIL_BOOT_MB2_H
#define VIGIL_BOOT_MB2_H

#include <stddef.h>
#include <stdint.h>

/* 3.6.2: the MBI starts with total_size and a reserved word, then 8-byte
 * aligned tags, the last of type 0 and size 8. */
struct mb2_info_header {
	uint32_t total_size;
	uint32_t reserved;
};

struct mb2_tag {
	uint32_t type;
	uint32_t size;   /* including this header, excluding the padding */
};

#define MB2_TAG_ALIGN        8

#define MB2_TAG_END          0
#define MB2_TAG_CMDLINE      1   /* 3.6.5 */
#define MB2_TAG_LOADER_NAME  2   /* 3.6.9 */
#define MB2_TAG_BASIC_MEMINFO 4  /* 3.6.3 */
#define MB2_TAG_MMAP         6   /* 3.6.8 */
#define MB2_TAG_FRAMEBUFFER  8   /* 3.6.12 */
#define MB2_TAG_EFI32        11  /* 3.6.13: only when GRUB runs on EFI */
#define MB2_TAG_EFI64        12  /* 3.6.14: only when GRUB runs on EFI */
#define MB2_TAG_ACPI_OLD     14  /* 3.6.16: copy of the RSDP, ACPI 1.0 */
#define MB2_TAG_ACPI_NEW     15  /* 3.6.17: copy of the RSDP, ACPI 2.0+ */

/* 3.6.5, 3.6.9: a NUL-terminated UTF-8 string follows the header. */
struct mb2_tag_string {
	struct mb2_tag tag;
	char string[];
};

/* 3.6.3: KiB of lower memory (from 0) and upper memory (from 1 MiB). */
struct mb2_tag_basic_meminfo {
	struct mb2_tag tag;
	uint32_t mem_lower;
	uint32_t mem_upper;
};

/* 3.6.8: entries of entry_size bytes (at least the fields below). */
struct mb2_mmap_entry {
	uint64_t base_addr;
	uint64_t length;
	uint32_t type;
	uint32_t reserved;
};

#define MB2_MEM_AVAILABLE        1
#define MB2_MEM_RESERVED         2
#define MB2_MEM_ACPI_RECLAIMABLE 3
#define MB2_MEM_NVS              4
#define MB2_MEM_BADRAM           5

struct mb2_tag_mmap {
	struct mb2_tag tag;
	uint32_t entry_size;
	uint32_t entry_version;
	/* entries follow */
};

/* 3.6.12.  The specification's prose gives "reserved" one byte, but its own
 * multiboot2.h and GRUB write two, so the colour information starts at
 * offset 32.  We follow GRUB. */
struct mb2_tag_framebuffer {
	struct mb2_tag tag;
	uint64_t addr;
	uint32_t pitch;
	uint32_t width;
	uint32_t height;
	uint8_t bpp;
	uint8_t fb_type;
	uint16_t reserved;
	/* fb_type == MB2_FB_TYPE_RGB: */
	uint8_t red_field_position;
	uint8_t red_mask_size;
	uint8_t green_field_position;
	uint8_t green_mask_size;
	uint8_t blue_field_position;
	uint8_t blue_mask_size;
};

/* Bytes GRUB puts in a direct-colour tag (38); sizeof() adds padding. */
#define MB2_FB_TAG_RGB_SIZE  (offsetof(struct mb2_tag_framebuffer, blue_mask_size) + 1)

#define MB2_FB_TYPE_INDEXED  0
#define MB2_FB_TYPE_RGB      1
#define MB2_FB_TYPE_EGA_TEXT 2

/* 3.6.16, 3.6.17: the RSDP bytes follow the header. */
struct mb2_tag_acpi {
	struct mb2_tag tag;
	uint8_t rsdp[];
};

/* mb2_info.c; called from entry32.asm in 64-bit mode at the link address.
 * Returns the physical address of the filled struct boot_info. */
uint64_t mb2_build_boot_info(uint32_t mbi_phys);

#endif

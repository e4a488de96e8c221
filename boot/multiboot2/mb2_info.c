/* SPDX-License-Identifier: MIT */
/*
 * Multiboot2 boot information (MBI) -> struct boot_info.
 *
 * Called once from entry32.asm, in 64-bit mode at the kernel's link address,
 * on the loader-side page tables (identity map of 0..4 GiB plus the kernel
 * window) and the entry stack.  Everything the kernel needs from the MBI is
 * copied here, before _start64 runs: the MBI lies in memory the memory map
 * calls usable, and the kernel will allocate from it.
 *
 * The result, a static struct boot_info inside the kernel image, follows the
 * contract in include/vigil/boot_info.h:
 *  - mmap[]: GRUB's memory map, sorted, overlaps resolved in favour of the
 *    more restrictive type, usable ranges shrunk to whole 4 KiB pages, with
 *    page 0 reserved and the kernel image (which holds this boot_info, the
 *    entry page tables and stack, and the RSDP copy) and the AP trampoline
 *    page carved out as BOOT_MEM_KERNEL;
 *  - rsdp_phys: see find_rsdp();
 *  - fb: only a 32 bpp direct-colour framebuffer; EGA text or anything else
 *    is reported as none;
 *  - trampoline_phys: a usable page in [0x1000, 0x9F000), 0x8000 when free.
 * Nothing is printed: the kernel prints its own boot_info summary.
 */
#include <vigil/boot_info.h>
#include <vigil/string.h>
#include <vigil/types.h>

#include "mb2.h"

#define PAGE_4K 0x1000ULL

/* Where the AP trampoline may go: SIPI vectors address 4 KiB pages below
 * 1 MiB (SDM vol 3, 9.4.4.1 "Typical BSP initialization sequence"); stay
 * above page 0 and below the EBDA, which starts at 0x9FC00 or lower. */
#define TRAMPOLINE_PREFERRED 0x8000ULL
#define TRAMPOLINE_LOW       0x1000ULL
#define TRAMPOLINE_LIMIT     0x9F000ULL

/* Legacy places of the RSDP on PC-BIOS machines (ACPI 6.5, 5.2.5.1 "Finding
 * the RSDP on IA-PC systems"): the first KiB of the EBDA, whose segment is
 * stored at 0x40E, and the BIOS area 0xE0000..0xFFFFF, 16-byte aligned. */
#define BDA_EBDA_SEGMENT   0x40EULL
#define BIOS_ROM_START     0xE0000ULL
#define BIOS_ROM_END       0x100000ULL
#define RSDP_V1_LEN        20u
#define RSDP_V2_MIN_LEN    36u
#define RSDP_COPY_MAX      64u

extern char __kernel_end[];

static struct boot_info mb2_boot_info __attribute__((aligned(16)));
static uint8_t mb2_rsdp_copy[RSDP_COPY_MAX] __attribute__((aligned(16)));
/* Rebuild buffer for mmap_mark(): the map, plus the pieces one mark adds. */
static struct boot_mem_region mb2_scratch[BOOT_MMAP_MAX + 2];

/* Physical address of something inside the kernel image.  The image sits at
 * KERNEL_DEFAULT_PHYS: GRUB loads the ELF segments at their p_paddr. */
static uint64_t image_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p - KERNEL_VIRT_BASE + KERNEL_DEFAULT_PHYS;
}

/* A pointer to identity-mapped physical memory below 4 GiB.  The empty asm
 * hides the constant from GCC, which otherwise warns about dereferencing
 * small fixed addresses (-Warray-bounds treats them as offsets from NULL). */
static const void *phys_ptr(uint64_t phys)
{
	uintptr_t p = (uintptr_t)phys;
	__asm__("" : "+r"(p));
	return (const void *)p;
}

/* Which of two memory types wins where ranges overlap: the one the kernel
 * may do less with. */
static int type_rank(uint32_t type)
{
	switch (type) {
	case BOOT_MEM_USABLE:       return 0;
	case BOOT_MEM_ACPI_RECLAIM: return 1;
	case BOOT_MEM_ACPI_NVS:     return 2;
	case BOOT_MEM_RESERVED:     return 3;
	case BOOT_MEM_KERNEL:       return 4;
	case BOOT_MEM_BAD:          return 5;
	default:                    return 3;
	}
}

static uint32_t mb2_to_boot_type(uint32_t mb2_type)
{
	switch (mb2_type) {
	case MB2_MEM_AVAILABLE:        return BOOT_MEM_USABLE;
	case MB2_MEM_ACPI_RECLAIMABLE: return BOOT_MEM_ACPI_RECLAIM;
	case MB2_MEM_NVS:              return BOOT_MEM_ACPI_NVS;
	case MB2_MEM_BADRAM:           return BOOT_MEM_BAD;
	default:                       return BOOT_MEM_RESERVED;
	}
}

static uint64_t region_end(const struct boot_mem_region *r)
{
	return r->base + r->length;
}

/* Sort by base (insertion sort: the input is almost sorted, and small). */
static void sort_regions(struct boot_mem_region *r, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		struct boot_mem_region x = r[i];
		uint32_t j = i;
		while (j > 0 && r[j - 1].base > x.base) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = x;
	}
}

/* Drop the smallest usable range (giving memory away is always safe); if
 * there is none, the highest range.  Only when the map overflows, which takes
 * a firmware map of more than BOOT_MMAP_MAX ranges. */
static void drop_one(struct boot_mem_region *r, uint32_t *n)
{
	uint32_t victim = *n - 1;
	uint64_t smallest = ~0ULL;
	for (uint32_t i = 0; i < *n; i++) {
		if (r[i].type == BOOT_MEM_USABLE && r[i].length < smallest) {
			smallest = r[i].length;
			victim = i;
		}
	}
	for (uint32_t i = victim; i + 1 < *n; i++)
		r[i] = r[i + 1];
	(*n)--;
}

/*
 * Make [base, end) have the given type: the parts of existing ranges inside it
 * are cut away, the new range is inserted, neighbours of equal type merge.
 * The map stays sorted and free of overlaps.
 */
static void mmap_mark(struct boot_info *bi, uint64_t base, uint64_t end, uint32_t type)
{
	struct boot_mem_region *out = mb2_scratch;
	uint32_t n = 0;

	if (end <= base)
		return;
	for (uint32_t i = 0; i < bi->mmap_count; i++) {
		const struct boot_mem_region *r = &bi->mmap[i];
		uint64_t rend = region_end(r);
		if (rend <= base || r->base >= end) {
			out[n++] = *r;
			continue;
		}
		if (r->base < base)
			out[n++] = (struct boot_mem_region){ r->base, base - r->base, r->type, 0 };
		if (rend > end)
			out[n++] = (struct boot_mem_region){ end, rend - end, r->type, 0 };
	}
	out[n++] = (struct boot_mem_region){ base, end - base, type, 0 };
	sort_regions(out, n);

	/* Merge touching ranges of one type. */
	uint32_t m = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (m > 0 && out[m - 1].type == out[i].type && region_end(&out[m - 1]) == out[i].base)
			out[m - 1].length += out[i].length;
		else
			out[m++] = out[i];
	}
	while (m > BOOT_MMAP_MAX)
		drop_one(out, &m);

	for (uint32_t i = 0; i < m; i++)
		bi->mmap[i] = out[i];
	bi->mmap_count = m;
}

/* Usable ranges become whole pages; the slivers cut off are left out of the
 * map (nobody may allocate them, nobody needs to know about them). */
static void mmap_page_align_usable(struct boot_info *bi)
{
	uint32_t m = 0;
	for (uint32_t i = 0; i < bi->mmap_count; i++) {
		struct boot_mem_region r = bi->mmap[i];
		if (r.type == BOOT_MEM_USABLE) {
			uint64_t b = (r.base + PAGE_4K - 1) & ~(PAGE_4K - 1);
			uint64_t e = region_end(&r) & ~(PAGE_4K - 1);
			if (e <= b)
				continue;
			r.base = b;
			r.length = e - b;
		}
		bi->mmap[m++] = r;
	}
	bi->mmap_count = m;
}

static bool mmap_is_usable(const struct boot_info *bi, uint64_t base, uint64_t end)
{
	for (uint32_t i = 0; i < bi->mmap_count; i++) {
		const struct boot_mem_region *r = &bi->mmap[i];
		if (r->type == BOOT_MEM_USABLE && r->base <= base && region_end(r) >= end)
			return true;
	}
	return false;
}

/*
 * GRUB's memory map.  Firmware maps may overlap; marking the ranges in rising
 * order of restrictiveness lets the more restrictive type win everywhere.
 */
static void convert_mmap(struct boot_info *bi, const struct mb2_tag_mmap *t)
{
	if (t->entry_size < sizeof(struct mb2_mmap_entry) || t->tag.size < sizeof(*t))
		return;
	uint32_t count = (t->tag.size - sizeof(*t)) / t->entry_size;
	const uint8_t *entries = (const uint8_t *)(t + 1);

	for (int rank = 0; rank <= 5; rank++) {
		for (uint32_t i = 0; i < count; i++) {
			const struct mb2_mmap_entry *e =
				(const struct mb2_mmap_entry *)(entries + (size_t)i * t->entry_size);
			uint32_t type = mb2_to_boot_type(e->type);
			if (type_rank(type) != rank || e->length == 0)
				continue;
			uint64_t end = e->base_addr + e->length;
			if (end < e->base_addr)
				end = ~0ULL; /* clamp a range that wraps */
			mmap_mark(bi, e->base_addr, end, type);
		}
	}
}

/* Without a memory map tag, the basic memory information (KiB below 640 KiB
 * and from 1 MiB up to the first hole) still gives a usable, if small, map. */
static void convert_basic_meminfo(struct boot_info *bi, const struct mb2_tag_basic_meminfo *t)
{
	mmap_mark(bi, 0, (uint64_t)t->mem_lower * 1024, BOOT_MEM_USABLE);
	mmap_mark(bi, 0x100000, 0x100000 + (uint64_t)t->mem_upper * 1024, BOOT_MEM_USABLE);
}

static void copy_string(char *dst, size_t dst_size, const struct mb2_tag_string *t)
{
	size_t max = t->tag.size > sizeof(t->tag) ? t->tag.size - sizeof(t->tag) : 0;
	size_t n = strnlen(t->string, max);
	if (n > dst_size - 1)
		n = dst_size - 1;
	memcpy(dst, t->string, n);
	dst[n] = 0;
}

static void convert_framebuffer(struct boot_info *bi, const struct mb2_tag_framebuffer *t)
{
	uint32_t format;

	/* The colour fields exist only for direct colour; EGA text (type 2)
	 * and palettes (type 0) are no use to the framebuffer console. */
	if (t->tag.size < MB2_FB_TAG_RGB_SIZE || t->fb_type != MB2_FB_TYPE_RGB || t->bpp != 32)
		return;
	if (t->red_mask_size != 8 || t->green_mask_size != 8 || t->blue_mask_size != 8)
		return;
	if (t->red_field_position == 0 && t->green_field_position == 8 && t->blue_field_position == 16)
		format = BOOT_FB_RGBX;
	else if (t->red_field_position == 16 && t->green_field_position == 8 && t->blue_field_position == 0)
		format = BOOT_FB_BGRX;
	else
		return;

	bi->fb.base = t->addr;
	bi->fb.width = t->width;
	bi->fb.height = t->height;
	bi->fb.pitch = t->pitch;
	bi->fb.bpp = t->bpp;
	bi->fb.format = format;
}

/* Look for an exact copy of the given RSDP bytes at the legacy BIOS places. */
static uint64_t scan_for_rsdp(const uint8_t *rsdp, uint32_t len)
{
	uint64_t ebda = (uint64_t)*(const volatile uint16_t *)phys_ptr(BDA_EBDA_SEGMENT) << 4;
	uint64_t areas[2][2] = {
		{ ebda, ebda + 1024 },
		{ BIOS_ROM_START, BIOS_ROM_END },
	};

	for (int a = 0; a < 2; a++) {
		uint64_t start = areas[a][0], end = areas[a][1];
		/* The EBDA lives just below 640 KiB; ignore a garbage pointer. */
		if (a == 0 && (start < 0x80000 || end > 0xA0000))
			continue;
		for (uint64_t p = start; p + len <= end; p += 16) {
			if (memcmp(phys_ptr(p), rsdp, len) == 0)
				return p;
		}
	}
	return 0;
}

/*
 * GRUB passes a copy of the RSDP, not its address (Multiboot2 3.6.16/3.6.17),
 * but boot_info has room only for an address: the kernel's ACPI code follows
 * rsdp_phys to the RSDT/XSDT.  On a PC BIOS the RSDP itself sits in the
 * legacy areas, so look for an identical copy there and hand out its real
 * address.  On EFI firmware (GRUB gave an EFI system table tag) or when the
 * scan finds nothing, hand out the address of our own copy inside the kernel
 * image: it carries the same RSDT/XSDT pointers and checksums, so the kernel
 * cannot tell the difference, and the kernel image is never reused.
 */
static uint64_t find_rsdp(const struct mb2_tag_acpi *t, bool is_v2, bool efi)
{
	uint32_t avail = t->tag.size > sizeof(t->tag) ? t->tag.size - sizeof(t->tag) : 0;
	uint32_t len = RSDP_V1_LEN;

	if (avail < RSDP_V1_LEN || memcmp(t->rsdp, "RSD PTR ", 8) != 0)
		return 0;
	if (is_v2 && avail >= RSDP_V2_MIN_LEN) {
		uint32_t l;
		memcpy(&l, t->rsdp + 20, sizeof(l)); /* RSDP "Length", ACPI 5.2.5.3 */
		if (l >= RSDP_V2_MIN_LEN && l <= avail && l <= RSDP_COPY_MAX)
			len = l;
		else
			len = RSDP_V2_MIN_LEN;
	}
	memcpy(mb2_rsdp_copy, t->rsdp, len);

	if (!efi) {
		uint64_t real = scan_for_rsdp(mb2_rsdp_copy, len);
		if (real)
			return real;
	}
	return image_phys(mb2_rsdp_copy);
}

/* A free page below 1 MiB for the AP start-up / S3 wake-up trampoline. */
static void pick_trampoline(struct boot_info *bi)
{
	uint64_t page = 0;

	if (mmap_is_usable(bi, TRAMPOLINE_PREFERRED, TRAMPOLINE_PREFERRED + PAGE_4K)) {
		page = TRAMPOLINE_PREFERRED;
	} else {
		for (uint64_t p = TRAMPOLINE_LOW; p + PAGE_4K <= TRAMPOLINE_LIMIT; p += PAGE_4K) {
			if (mmap_is_usable(bi, p, p + PAGE_4K)) {
				page = p;
				break;
			}
		}
	}
	if (page)
		mmap_mark(bi, page, page + PAGE_4K, BOOT_MEM_KERNEL);
	bi->trampoline_phys = page;
}

uint64_t mb2_build_boot_info(uint32_t mbi_phys)
{
	struct boot_info *bi = &mb2_boot_info;
	const uint8_t *mbi = phys_ptr(mbi_phys);
	const struct mb2_tag_mmap *mmap = 0;
	const struct mb2_tag_basic_meminfo *meminfo = 0;
	const struct mb2_tag_acpi *acpi_old = 0, *acpi_new = 0;
	bool efi = false;

	memset(bi, 0, sizeof(*bi));
	bi->magic = BOOT_INFO_MAGIC;
	bi->version = BOOT_INFO_VERSION;
	bi->loader = BOOT_LOADER_MULTIBOOT2;
	bi->kernel_phys_base = KERNEL_DEFAULT_PHYS;
	bi->kernel_size = (uint64_t)(uintptr_t)__kernel_end - KERNEL_VIRT_BASE;
	strlcpy(bi->loader_name, "Multiboot2", sizeof(bi->loader_name));

	/* 3.6.2: total_size, reserved, then 8-byte aligned tags up to type 0.
	 * Stop at anything malformed rather than walk off into memory. */
	uint32_t total = ((const struct mb2_info_header *)mbi)->total_size;
	uint32_t off = sizeof(struct mb2_info_header);
	while (off + sizeof(struct mb2_tag) <= total) {
		const struct mb2_tag *t = (const struct mb2_tag *)(mbi + off);
		if (t->type == MB2_TAG_END || t->size < sizeof(*t) || t->size > total - off)
			break;
		switch (t->type) {
		case MB2_TAG_CMDLINE:
			copy_string(bi->cmdline, sizeof(bi->cmdline), (const struct mb2_tag_string *)t);
			break;
		case MB2_TAG_LOADER_NAME:
			copy_string(bi->loader_name, sizeof(bi->loader_name), (const struct mb2_tag_string *)t);
			break;
		case MB2_TAG_BASIC_MEMINFO:
			if (t->size >= sizeof(*meminfo))
				meminfo = (const struct mb2_tag_basic_meminfo *)t;
			break;
		case MB2_TAG_MMAP:
			mmap = (const struct mb2_tag_mmap *)t;
			break;
		case MB2_TAG_FRAMEBUFFER:
			convert_framebuffer(bi, (const struct mb2_tag_framebuffer *)t);
			break;
		case MB2_TAG_EFI32:
		case MB2_TAG_EFI64:
			efi = true;
			break;
		case MB2_TAG_ACPI_OLD:
			acpi_old = (const struct mb2_tag_acpi *)t;
			break;
		case MB2_TAG_ACPI_NEW:
			acpi_new = (const struct mb2_tag_acpi *)t;
			break;
		default:
			break;
		}
		off += (t->size + MB2_TAG_ALIGN - 1) & ~(uint32_t)(MB2_TAG_ALIGN - 1);
	}

	if (mmap)
		convert_mmap(bi, mmap);
	else if (meminfo)
		convert_basic_meminfo(bi, meminfo);

	/* The ACPI 2.0 RSDP (with the XSDT) when there is one. */
	if (acpi_new)
		bi->rsdp_phys = find_rsdp(acpi_new, true, efi);
	if (!bi->rsdp_phys && acpi_old)
		bi->rsdp_phys = find_rsdp(acpi_old, false, efi);

	mmap_page_align_usable(bi);
	/* Page 0 (real-mode IVT, BIOS data area) is never handed out: a page
	 * at physical address 0 is also a trap for null-pointer bugs. */
	if (mmap_is_usable(bi, 0, PAGE_4K))
		mmap_mark(bi, 0, PAGE_4K, BOOT_MEM_RESERVED);
	mmap_mark(bi, KERNEL_DEFAULT_PHYS, image_phys(__kernel_end), BOOT_MEM_KERNEL);
	pick_trampoline(bi);

	return image_phys(bi);
}

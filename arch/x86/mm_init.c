/*
 * Hand the machine's free RAM to the page allocator: every BOOT_MEM_USABLE
 * range, minus the first MiB (real-mode structures, the AP trampoline, BIOS
 * data: never worth the risk), minus the pages the early page-table pool
 * already used, and minus the firmware's S3 scratch (core/mm/firmware_scratch.c).
 */
#include <asm/paging.h>
#include <asm/setup.h>
#include <vigil/boot_info.h>
#include <vigil/firmware_scratch.h>
#include <vigil/mm.h>
#include <vigil/printk.h>


static void add_range(uint64_t s, uint64_t e, uint64_t hole_s, uint64_t hole_e)
{
	/* [s, e) minus [hole_s, hole_e) */
	if (hole_e <= s || hole_s >= e) {
		if (e > s)
			pmm_add_range(s, e - s);
		return;
	}
	if (hole_s > s)
		pmm_add_range(s, hole_s - s);
	if (e > hole_e)
		pmm_add_range(hole_e, e - hole_e);
}

void x86_mm_init(const struct boot_info *bi)
{
	uint64_t early_s, early_e, usable = 0;
	paging_early_range(&early_s, &early_e);
	for (uint32_t i = 0; i < bi->mmap_count; i++) {
		const struct boot_mem_region *r = &bi->mmap[i];
		if (r->type != BOOT_MEM_USABLE)
			continue;
		const char *why;
		if (firmware_scratch_range(bi->mmap, bi->mmap_count, i, &why)) {
			printk("mm: kept out 0x%lx-0x%lx (%lu KiB): %s\n", (unsigned long)r->base,
			       (unsigned long)(r->base + r->length - 1), (unsigned long)(r->length >> 10), why);
			continue;
		}
		uint64_t s = ALIGN_UP(MAX(r->base, 0x100000ULL), PAGE_SIZE);
		uint64_t e = ALIGN_DOWN(r->base + r->length, PAGE_SIZE);
		if (e > direct_map_limit())
			e = direct_map_limit();
		if (e <= s)
			continue;
		usable += e - s;
		add_range(s, e, early_s, early_e);
	}
	pmm_init_done();
	paging_page_alloc_ready();
	printk("mm: %lu MiB usable, %lu pages free after allocator metadata\n", usable >> 20,
	       (unsigned long)pmm_free_count());
}

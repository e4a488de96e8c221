/*
 * Memory management: the physical page allocator (buddy, core/mm/page_alloc.c)
 * and the kernel heap (kmalloc, core/mm/heap.c).
 *
 * Boot order:
 *   1. the arch code makes phys_to_virt() stable for all RAM (the direct map);
 *   2. pmm_add_range() for every usable range, with the kernel image, boot
 *      data, early page tables and everything below 1 MiB already removed;
 *   3. pmm_init_done(): carves the page metadata out of the first range big
 *      enough to hold it (12 bytes per usable page, ~0.3% of RAM) and builds
 *      the free lists.  From here pmm_alloc_pages() and kmalloc() work.
 * Both allocators may be called from any CPU with interrupts on or off (they
 * take an interrupt-disabling spinlock); never from NMI context.
 */
#ifndef VIGIL_MM_H
#define VIGIL_MM_H

#include <vigil/types.h>

/* The direct map, implemented by the architecture (host tests: a fake
 * physical arena).  phys_to_virt() must not change once pmm_init_done() ran:
 * the allocator keeps the virtual address of its metadata. */
void *phys_to_virt(uint64_t phys);
uint64_t virt_to_phys(const void *virt);

/* ---- Physical pages ------------------------------------------------------ */

/* Largest block: 2^10 pages = 4 MiB. */
#define PMM_MAX_ORDER 10

/* Hand [base, base+len) to the allocator.  Unaligned edges are trimmed to
 * whole pages, physical page 0 is never used (0 means "no memory"), ranges
 * may come in any order.  A range touching an earlier one is merged with it;
 * one overlapping an earlier one is a caller bug (panic).  At most 1024
 * separate ranges.  Only before pmm_init_done(). */
void pmm_add_range(uint64_t base, uint64_t len);
void pmm_init_done(void);

/* A block of 2^order pages aligned to its size, or 0 when none is free.  The
 * contents are not cleared. */
uint64_t pmm_alloc_pages(unsigned order);
/* Give back exactly what pmm_alloc_pages(order) returned.  Double frees,
 * addresses never handed out and a wrong order panic. */
void pmm_free_pages(uint64_t phys, unsigned order);
static inline uint64_t pmm_alloc_page(void) { return pmm_alloc_pages(0); }
static inline void pmm_free_page(uint64_t phys) { pmm_free_pages(phys, 0); }

/* Pages managed (not counting the metadata) and pages free right now. */
uint64_t pmm_total_count(void);
uint64_t pmm_free_count(void);

struct pmm_stats {
	uint64_t total_pages;
	uint64_t free_pages;
	uint64_t free_blocks[PMM_MAX_ORDER + 1]; /* free blocks of each order */
	uint32_t nr_ranges;                      /* after merging touching ranges */
	uint64_t meta_phys;                      /* where the metadata was carved */
	uint64_t meta_bytes;
};
void pmm_get_stats(struct pmm_stats *st);

/* Smallest order whose block holds bytes (bytes 0 -> order 0); may exceed
 * PMM_MAX_ORDER, which pmm_alloc_pages() then refuses. */
static inline unsigned pmm_order_for(uint64_t bytes)
{
	unsigned order = 0;
	while ((PAGE_SIZE << order) < bytes && order < 63 - PAGE_SHIFT)
		order++;
	return order;
}

/* ---- Kernel heap ---------------------------------------------------------- */

/* 16-byte aligned; sizes up to 2048 come from power-of-two slabs, larger ones
 * are whole page blocks (page-aligned, so kmalloc(PAGE_SIZE) is one aligned
 * page).  kmalloc(0) returns a minimal object.  NULL when out of memory or
 * larger than 2^PMM_MAX_ORDER pages.  Fresh memory is not cleared (kzalloc
 * clears). */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
/* kfree(NULL) does nothing; a double free, a pointer kmalloc did not return,
 * or a write to a freed object (seen when it is reused) panics. */
void kfree(const void *ptr);
/* Usable size of a kmalloc'd block (at least what was asked for). */
size_t ksize(const void *ptr);
/* C realloc semantics: NULL ptr allocates, size 0 frees and returns NULL; on
 * failure the old block is left alone and NULL returned. */
void *krealloc(void *ptr, size_t size);

#define KMALLOC_MIN_SIZE   16
#define KMALLOC_MAX_SMALL  2048
#define KMALLOC_NR_CLASSES 8 /* 16, 32, ... 2048 */

struct kmalloc_stats {
	uint64_t alloc_calls;
	uint64_t free_calls;
	uint64_t objects_in_use;                    /* live kmalloc blocks */
	uint64_t bytes_in_use;                      /* their usable sizes */
	uint64_t slab_pages;                        /* pages held by slabs */
	uint64_t large_pages;                       /* pages of large blocks */
	uint64_t class_in_use[KMALLOC_NR_CLASSES];  /* live objects per class */
};
void kmalloc_stats(struct kmalloc_stats *st);

#ifdef VIGIL_HOST
/* Forget all state so each host test starts from nothing. */
void pmm_host_reset(void);
void kmalloc_host_reset(void);
#endif

#endif

/*
 * What the heap needs from the page allocator beyond the public API: blocks
 * tagged with their owner, and finding the block that holds an address.
 *
 * The tag lets kfree() tell its own blocks from pages someone got from
 * pmm_alloc_pages() (and pmm_free_pages() refuse a kmalloc block), and lets
 * large kmalloc blocks carry no header at all: they are page-aligned, which
 * the hardware-facing code (one-page control structures) relies on.
 */
#ifndef CORE_MM_PAGE_OWNER_H
#define CORE_MM_PAGE_OWNER_H

#include <vigil/types.h>

enum page_owner {
	PAGE_OWNER_PMM = 0,        /* pmm_alloc_pages() */
	PAGE_OWNER_HEAP_SLAB = 1,  /* a kmalloc slab (header at the block start) */
	PAGE_OWNER_HEAP_LARGE = 2, /* a large kmalloc block (no header) */
	PAGE_OWNER_FREE = 15,      /* only in pmm_for_each_block(): a free block */
};

uint64_t pmm_alloc_owned(unsigned order, enum page_owner owner);
/* Panics unless phys is the start of an allocated block of this order and
 * owner. */
void pmm_free_owned(uint64_t phys, unsigned order, enum page_owner owner);
/* The allocated block containing phys: its start, order and owner.  False
 * when phys lies in no allocated block (free, never managed, metadata). */
bool pmm_find_block(uint64_t phys, uint64_t *start, unsigned *order, enum page_owner *owner);
/* fn(start, order, owner) for every allocated block (and every free one
 * too with include_free), under the allocator's lock with interrupts off
 * (fn must not allocate); then where the page metadata array lies. */
void pmm_for_each_block(void (*fn)(uint64_t phys, unsigned order, enum page_owner owner, void *arg),
			void *arg, bool include_free, uint64_t *meta_start, uint64_t *meta_len);

#endif

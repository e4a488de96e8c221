/*
 * The physical page allocator: a binary buddy allocator over the usable RAM
 * ranges of the memory map.
 *
 * Memory is a sorted list of ranges ("regions"; touching ranges are merged).
 * Every usable page has 12 bytes of metadata in one array carved at
 * pmm_init_done() from the first region big enough, indexed by a global page
 * number that runs through the regions one after the other.  Holes between
 * regions therefore cost nothing, however large they are.
 *
 * Blocks of 2^k pages are aligned to their size in *physical* address space,
 * so the buddy of a block is found by flipping one address bit; a buddy that
 * falls outside the block's region simply never merges.  Only the first page
 * of a block (its head) says what the block is; every other page is TAIL.
 * That invariant, kept in O(1) at each split and merge, is what lets a free
 * of a wrong address be told from a double free and from a valid free.
 *
 * Free blocks sit on one doubly linked list per order, linked through the
 * metadata (page numbers, not pointers), so free memory itself is never
 * touched.
 */
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/spinlock.h>

#include "page_owner.h"

#define PMM_MAX_RANGES 1024
#define NO_PAGE        UINT32_MAX

enum page_state {
	PG_TAIL = 0,        /* not the head of any block */
	PG_FREE = 1,        /* head of a free block on free_list[order] */
	PG_ALLOCATED = 2,   /* head of an allocated block; owner says whose */
};

struct page_meta {
	uint32_t next;   /* free list links (PG_FREE heads only) */
	uint32_t prev;
	uint16_t region; /* index into regions[] */
	uint8_t order;   /* heads: block order */
	uint8_t state;   /* low nibble enum page_state, high nibble enum page_owner */
};
_Static_assert(sizeof(struct page_meta) == 12, "page metadata grew");

struct region {
	uint64_t base; /* page-aligned */
	uint64_t end;  /* page-aligned, exclusive */
	uint32_t first; /* global page number of base */
};

/* The bare ticket lock of include/vigil/spinlock.h with interrupts off: an
 * interrupt handler on this CPU may allocate, and allocations happen before
 * there is a current task (so no raw_spin_lock() preemption count).  A leaf:
 * kmalloc() may be called under any other lock. */
static raw_spinlock_t pmm_lock_ = RAW_SPIN_LOCK_UNLOCKED;
static struct region regions[PMM_MAX_RANGES];
static unsigned nr_regions;
static bool ready;
static struct page_meta *meta;
static uint64_t meta_phys, meta_bytes;
static uint32_t free_head[PMM_MAX_ORDER + 1];
static uint64_t free_blocks[PMM_MAX_ORDER + 1];
static uint64_t total_pages, free_pages;

static inline uint64_t block_bytes(unsigned order)
{
	return PAGE_SIZE << order;
}

static inline unsigned state_of(const struct page_meta *m) { return m->state & 0xf; }
static inline unsigned owner_of(const struct page_meta *m) { return m->state >> 4; }
static inline void set_state(struct page_meta *m, unsigned state, unsigned owner)
{
	m->state = (uint8_t)(state | (owner << 4));
}

/* ---- ranges ---------------------------------------------------------------- */

void pmm_add_range(uint64_t base, uint64_t len)
{
	uint64_t start = ALIGN_UP(base, PAGE_SIZE);
	uint64_t end = base + len < base ? ALIGN_DOWN(UINT64_MAX, PAGE_SIZE)
					 : ALIGN_DOWN(base + len, PAGE_SIZE);
	unsigned i;

	if (ready)
		panic("pmm_add_range(%#llx, %#llx) after pmm_init_done",
		      (unsigned long long)base, (unsigned long long)len);
	if (start < base) /* ALIGN_UP wrapped */
		return;
	if (start == 0)
		start = PAGE_SIZE; /* 0 is the "no memory" answer */
	if (end <= start)
		return;

	/* Keep regions sorted by base: find the first region above us. */
	for (i = 0; i < nr_regions && regions[i].base < start; i++)
		;
	if ((i > 0 && regions[i - 1].end > start) || (i < nr_regions && regions[i].base < end))
		panic("pmm_add_range: [%#llx, %#llx) overlaps a range added earlier",
		      (unsigned long long)start, (unsigned long long)end);

	/* Touching neighbours merge, so blocks can span the seam. */
	bool join_prev = i > 0 && regions[i - 1].end == start;
	bool join_next = i < nr_regions && regions[i].base == end;
	if (join_prev && join_next) {
		regions[i - 1].end = regions[i].end;
		for (unsigned j = i; j + 1 < nr_regions; j++)
			regions[j] = regions[j + 1];
		nr_regions--;
	} else if (join_prev) {
		regions[i - 1].end = end;
	} else if (join_next) {
		regions[i].base = start;
	} else {
		if (nr_regions == PMM_MAX_RANGES)
			panic("pmm_add_range: more than %d separate ranges", PMM_MAX_RANGES);
		for (unsigned j = nr_regions; j > i; j--)
			regions[j] = regions[j - 1];
		regions[i] = (struct region){ .base = start, .end = end };
		nr_regions++;
	}
}

static inline uint64_t region_pages(const struct region *r)
{
	return (r->end - r->base) >> PAGE_SHIFT;
}

/* The region holding phys, or NULL. */
static struct region *find_region(uint64_t phys)
{
	unsigned lo = 0, hi = nr_regions;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (phys < regions[mid].base)
			hi = mid;
		else if (phys >= regions[mid].end)
			lo = mid + 1;
		else
			return &regions[mid];
	}
	return NULL;
}

static inline uint32_t page_index(const struct region *r, uint64_t phys)
{
	return r->first + (uint32_t)((phys - r->base) >> PAGE_SHIFT);
}

static inline uint64_t page_phys(uint32_t idx)
{
	const struct region *r = &regions[meta[idx].region];
	return r->base + ((uint64_t)(idx - r->first) << PAGE_SHIFT);
}

/* ---- free lists ------------------------------------------------------------ */

static void list_push(uint32_t idx, unsigned order)
{
	struct page_meta *m = &meta[idx];

	set_state(m, PG_FREE, PAGE_OWNER_PMM);
	m->order = (uint8_t)order;
	m->prev = NO_PAGE;
	m->next = free_head[order];
	if (m->next != NO_PAGE)
		meta[m->next].prev = idx;
	free_head[order] = idx;
	free_blocks[order]++;
}

static void list_remove(uint32_t idx, unsigned order)
{
	struct page_meta *m = &meta[idx];

	if (m->prev != NO_PAGE)
		meta[m->prev].next = m->next;
	else
		free_head[order] = m->next;
	if (m->next != NO_PAGE)
		meta[m->next].prev = m->prev;
	free_blocks[order]--;
}

/* ---- initialisation -------------------------------------------------------- */

/* Take the metadata array from the start of the first region that holds it;
 * returns false when none does. */
static bool carve_metadata(void)
{
	uint64_t pages = 0;

	for (unsigned i = 0; i < nr_regions; i++)
		pages += region_pages(&regions[i]);
	if (pages > NO_PAGE - 1)
		panic("pmm: %llu pages is more than the metadata can number",
		      (unsigned long long)pages);
	/* Sized for every page before the carve: a few entries too many. */
	meta_bytes = ALIGN_UP(pages * sizeof(struct page_meta), PAGE_SIZE);

	for (unsigned i = 0; i < nr_regions; i++) {
		struct region *r = &regions[i];
		if (r->end - r->base < meta_bytes)
			continue;
		meta_phys = r->base;
		r->base += meta_bytes;
		if (r->base == r->end) {
			for (unsigned j = i; j + 1 < nr_regions; j++)
				regions[j] = regions[j + 1];
			nr_regions--;
		}
		meta = phys_to_virt(meta_phys);
		return true;
	}
	return false;
}

/* Cut a region into the largest aligned blocks that fit and free them. */
static void seed_region(const struct region *r)
{
	uint64_t p = r->base;

	while (p < r->end) {
		unsigned order = PMM_MAX_ORDER;
		while (order && (!IS_ALIGNED(p, block_bytes(order)) || p + block_bytes(order) > r->end))
			order--;
		list_push(page_index(r, p), order);
		p += block_bytes(order);
	}
}

void pmm_init_done(void)
{
	unsigned long flags;
	__raw_spin_lock_irqsave(&pmm_lock_, flags);

	if (ready) {
		__raw_spin_unlock_irqrestore(&pmm_lock_, flags);
		panic("pmm_init_done called twice");
	}
	if (!nr_regions || !carve_metadata()) {
		__raw_spin_unlock_irqrestore(&pmm_lock_, flags);
		panic("pmm: no usable range can hold the page metadata");
	}

	uint32_t next = 0;
	for (unsigned i = 0; i < nr_regions; i++) {
		regions[i].first = next;
		next += (uint32_t)region_pages(&regions[i]);
	}
	total_pages = next;
	for (unsigned i = 0; i <= PMM_MAX_ORDER; i++) {
		free_head[i] = NO_PAGE;
		free_blocks[i] = 0;
	}
	for (unsigned i = 0; i < nr_regions; i++) {
		struct page_meta *m = &meta[regions[i].first];
		for (uint64_t n = region_pages(&regions[i]); n; n--, m++)
			*m = (struct page_meta){ .next = NO_PAGE, .prev = NO_PAGE, .region = (uint16_t)i };
	}
	for (unsigned i = 0; i < nr_regions; i++)
		seed_region(&regions[i]);
	free_pages = total_pages;
	ready = true;
	__raw_spin_unlock_irqrestore(&pmm_lock_, flags);

	printk("pmm: %llu MiB usable in %u ranges, %llu KiB metadata at %#llx\n",
	       (unsigned long long)(total_pages >> (20 - PAGE_SHIFT)), nr_regions,
	       (unsigned long long)(meta_bytes >> 10), (unsigned long long)meta_phys);
}

/* ---- allocation ------------------------------------------------------------ */

uint64_t pmm_alloc_owned(unsigned order, enum page_owner owner)
{
	unsigned long flags;
	uint64_t phys = 0;

	if (order > PMM_MAX_ORDER)
		return 0;
	__raw_spin_lock_irqsave(&pmm_lock_, flags);
	if (ready) {
		unsigned k = order;
		while (k <= PMM_MAX_ORDER && free_head[k] == NO_PAGE)
			k++;
		if (k <= PMM_MAX_ORDER) {
			uint32_t idx = free_head[k];
			list_remove(idx, k);
			/* Split: keep the lower half, free the upper halves. */
			while (k > order) {
				k--;
				list_push(idx + (1u << k), k);
			}
			set_state(&meta[idx], PG_ALLOCATED, owner);
			meta[idx].order = (uint8_t)order;
			free_pages -= 1ull << order;
			phys = page_phys(idx);
		}
	}
	__raw_spin_unlock_irqrestore(&pmm_lock_, flags);
	return phys;
}

uint64_t pmm_alloc_pages(unsigned order)
{
	return pmm_alloc_owned(order, PAGE_OWNER_PMM);
}

static const char *const owner_names[] = {
	[PAGE_OWNER_PMM] = "pmm_alloc_pages",
	[PAGE_OWNER_HEAP_SLAB] = "the kmalloc slabs",
	[PAGE_OWNER_HEAP_LARGE] = "kmalloc",
};

static const char *owner_name(unsigned owner)
{
	return owner < ARRAY_SIZE(owner_names) ? owner_names[owner] : "an unknown owner";
}

void pmm_free_owned(uint64_t phys, unsigned order, enum page_owner owner)
{
	unsigned long flags;
	__raw_spin_lock_irqsave(&pmm_lock_, flags);
	struct region *r = ready ? find_region(phys) : NULL;
	const struct page_meta *m = NULL;
	const char *why = NULL;

	if (order > PMM_MAX_ORDER || !r)
		why = "not memory the allocator hands out";
	else if (!IS_ALIGNED(phys, block_bytes(order)) || phys + block_bytes(order) > r->end)
		why = "not a block of that order";
	else if (state_of(m = &meta[page_index(r, phys)]) == PG_FREE)
		why = "double free (the block is free)";
	else if (state_of(m) != PG_ALLOCATED)
		why = "not the start of an allocated block (double free or wrong address)";
	else if (m->order != order)
		why = "freed with a different order than it was allocated with";
	else if (owner_of(m) != owner) {
		unsigned real = owner_of(m);
		__raw_spin_unlock_irqrestore(&pmm_lock_, flags);
		panic("pmm: %#llx freed through %s but allocated by %s",
		      (unsigned long long)phys, owner_name(owner), owner_name(real));
	}
	if (why) {
		/* Unlock first: panic() must be able to print, and host tests
		 * recover from it. */
		__raw_spin_unlock_irqrestore(&pmm_lock_, flags);
		panic("pmm: free of %#llx order %u: %s", (unsigned long long)phys, order, why);
	}

	uint32_t idx = page_index(r, phys);
	free_pages += 1ull << order;
	/* Merge with the buddy while it is a whole free block of the same order
	 * inside the same region. */
	while (order < PMM_MAX_ORDER) {
		uint64_t buddy = phys ^ block_bytes(order);
		if (buddy < r->base || buddy + block_bytes(order) > r->end)
			break;
		uint32_t bidx = page_index(r, buddy);
		if (state_of(&meta[bidx]) != PG_FREE || meta[bidx].order != order)
			break;
		list_remove(bidx, order);
		/* The higher of the two heads stops being a head. */
		if (buddy < phys) {
			set_state(&meta[idx], PG_TAIL, 0);
			idx = bidx;
			phys = buddy;
		} else {
			set_state(&meta[bidx], PG_TAIL, 0);
		}
		order++;
	}
	list_push(idx, order);
	__raw_spin_unlock_irqrestore(&pmm_lock_, flags);
}

void pmm_free_pages(uint64_t phys, unsigned order)
{
	pmm_free_owned(phys, order, PAGE_OWNER_PMM);
}

bool pmm_find_block(uint64_t phys, uint64_t *start, unsigned *order, enum page_owner *owner)
{
	unsigned long flags;
	__raw_spin_lock_irqsave(&pmm_lock_, flags);
	struct region *r = ready ? find_region(phys) : NULL;
	bool found = false;

	/* Candidate heads, smallest block first.  Every page is in exactly one
	 * block and every non-head page is TAIL, so the first non-TAIL
	 * candidate is the head of the block holding phys. */
	for (unsigned k = 0; r && k <= PMM_MAX_ORDER; k++) {
		uint64_t head = ALIGN_DOWN(phys, block_bytes(k));
		if (head < r->base)
			break;
		const struct page_meta *m = &meta[page_index(r, head)];
		if (state_of(m) == PG_TAIL)
			continue;
		if (state_of(m) == PG_ALLOCATED && head + block_bytes(m->order) > phys) {
			*start = head;
			*order = m->order;
			*owner = (enum page_owner)owner_of(m);
			found = true;
		}
		break;
	}
	__raw_spin_unlock_irqrestore(&pmm_lock_, flags);
	return found;
}

void pmm_for_each_block(void (*fn)(uint64_t phys, unsigned order, enum page_owner owner, void *arg),
			void *arg, bool include_free, uint64_t *meta_start, uint64_t *meta_len)
{
	unsigned long flags;
	__raw_spin_lock_irqsave(&pmm_lock_, flags);

	for (unsigned i = 0; ready && i < nr_regions; i++) {
		const struct region *r = &regions[i];
		uint64_t p = r->base;
		while (p < r->end) {
			const struct page_meta *m = &meta[page_index(r, p)];
			if (state_of(m) == PG_TAIL) { /* cannot happen at a block start; step a page */
				p += PAGE_SIZE;
				continue;
			}
			if (fn && state_of(m) == PG_ALLOCATED)
				fn(p, m->order, (enum page_owner)owner_of(m), arg);
			else if (fn && include_free)
				fn(p, m->order, PAGE_OWNER_FREE, arg);
			p += block_bytes(m->order);
		}
	}
	*meta_start = meta_phys;
	*meta_len = meta_bytes;
	__raw_spin_unlock_irqrestore(&pmm_lock_, flags);
}

/* ---- statistics ------------------------------------------------------------ */

uint64_t pmm_total_count(void)
{
	return total_pages;
}

uint64_t pmm_free_count(void)
{
	return __atomic_load_n(&free_pages, __ATOMIC_RELAXED);
}

void pmm_get_stats(struct pmm_stats *st)
{
	unsigned long flags;
	__raw_spin_lock_irqsave(&pmm_lock_, flags);

	st->total_pages = total_pages;
	st->free_pages = free_pages;
	for (unsigned i = 0; i <= PMM_MAX_ORDER; i++)
		st->free_blocks[i] = free_blocks[i];
	st->nr_ranges = nr_regions;
	st->meta_phys = meta_phys;
	st->meta_bytes = meta_bytes;
	__raw_spin_unlock_irqrestore(&pmm_lock_, flags);
}

#ifdef VIGIL_HOST
void pmm_host_reset(void)
{
	raw_spin_lock_init(&pmm_lock_); /* a failed test may have left it held */
	nr_regions = 0;
	ready = false;
	meta = NULL;
	meta_phys = meta_bytes = 0;
	total_pages = free_pages = 0;
	for (unsigned i = 0; i <= PMM_MAX_ORDER; i++) {
		free_head[i] = NO_PAGE;
		free_blocks[i] = 0;
	}
}
#endif

/*
 * Host tests for the buddy page allocator (core/mm/page_alloc.c): odd,
 * unaligned, tiny, touching and holey ranges; hundreds of ranges; 64 GiB;
 * exhaustion without overlap and with correct alignment; full coalescing after
 * frees in random order; misuse detection.
 *
 * Only the range holding the metadata needs to be backed by the fake RAM
 * arena: the allocator never touches the memory it manages, so every other
 * range may lie anywhere in the physical address space.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/mm.h>

#include "../../core/mm/page_owner.h"
#include "mm_host.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PG  4096ull

struct range {
	uint64_t base, end; /* as handed to pmm_add_range */
};

struct blk {
	uint64_t phys;
	unsigned order;
};

static struct range *ranges;
static size_t nranges, cap_ranges;

static void add(uint64_t base, uint64_t len)
{
	if (nranges == cap_ranges) {
		cap_ranges = cap_ranges ? cap_ranges * 2 : 64;
		ranges = realloc(ranges, cap_ranges * sizeof(*ranges));
		assert_non_null(ranges);
	}
	ranges[nranges++] = (struct range){ base, base + len };
	pmm_add_range(base, len);
}

static int setup(void **state)
{
	(void)state;
	nranges = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mm_host_teardown();
	free(ranges);
	ranges = NULL;
	nranges = cap_ranges = 0;
	return 0;
}

/* Pages the ranges hold once trimmed to whole pages (page 0 excluded). */
static uint64_t expected_pages(void)
{
	uint64_t n = 0;
	for (size_t i = 0; i < nranges; i++) {
		uint64_t b = (ranges[i].base + PG - 1) & ~(PG - 1), e = ranges[i].end & ~(PG - 1);
		if (b == 0)
			b = PG;
		if (e > b)
			n += (e - b) / PG;
	}
	return n;
}

static int cmp_blk(const void *a, const void *b)
{
	const struct blk *x = a, *y = b;
	return x->phys < y->phys ? -1 : x->phys > y->phys;
}

/* Every block: aligned to its size, inside one input range, clear of the
 * metadata, and disjoint from every other block. */
static void check_blocks(struct blk *b, size_t n)
{
	struct pmm_stats st;

	pmm_get_stats(&st);
	qsort(b, n, sizeof(*b), cmp_blk);
	for (size_t i = 0; i < n; i++) {
		uint64_t size = PG << b[i].order, s = b[i].phys, e = s + size;
		bool inside = false;

		assert_true(s != 0);
		assert_true((s & (size - 1)) == 0);
		for (size_t r = 0; r < nranges && !inside; r++)
			inside = s >= ranges[r].base && e <= ranges[r].end;
		/* Touching ranges merge, so a block may straddle two inputs. */
		if (!inside) {
			uint64_t p = s;
			for (size_t r = 0; r < nranges; r++) {
				if (p >= ranges[r].base && p < ranges[r].end) {
					p = ranges[r].end;
					r = (size_t)-1; /* rescan from the start */
					if (p >= e)
						break;
				}
			}
			inside = p >= e;
		}
		if (!inside)
			fail_msg("block %#llx order %u is outside every range",
				 (unsigned long long)s, b[i].order);
		assert_true(e <= st.meta_phys || s >= st.meta_phys + st.meta_bytes);
		if (i + 1 < n && e > b[i + 1].phys)
			fail_msg("blocks %#llx and %#llx overlap", (unsigned long long)s,
				 (unsigned long long)b[i + 1].phys);
	}
}

static void shuffle(struct blk *b, size_t n, uint64_t *seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = mm_rand(seed) % i;
		struct blk t = b[i - 1];
		b[i - 1] = b[j];
		b[j] = t;
	}
}

/* Allocate everything (random orders, falling back to smaller ones), check
 * the blocks, free them in random order, and demand the exact initial free
 * lists back. */
static void exhaust_and_restore(uint64_t seed)
{
	struct pmm_stats before, after;
	size_t n = 0, cap = 1024;
	struct blk *b = malloc(cap * sizeof(*b));
	uint64_t pages = 0;

	pmm_get_stats(&before);
	assert_int_equal(before.free_pages, before.total_pages);
	for (;;) {
		unsigned order = (unsigned)(mm_rand(&seed) % (PMM_MAX_ORDER + 1));
		uint64_t p = 0;
		while (!(p = pmm_alloc_pages(order)) && order)
			order--;
		if (!p)
			break;
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap * sizeof(*b));
			assert_non_null(b);
		}
		b[n++] = (struct blk){ p, order };
		pages += 1ull << order;
		assert_int_equal(pmm_free_count(), before.total_pages - pages);
	}
	assert_int_equal(pages, before.total_pages);
	assert_int_equal(pmm_free_count(), 0);
	check_blocks(b, n);

	shuffle(b, n, &seed);
	for (size_t i = 0; i < n; i++)
		pmm_free_pages(b[i].phys, b[i].order);
	pmm_get_stats(&after);
	assert_int_equal(after.free_pages, after.total_pages);
	assert_memory_equal(after.free_blocks, before.free_blocks, sizeof(before.free_blocks));
	assert_true(mm_host_irqs_enabled());
	free(b);
}

static void test_single_range(void **state)
{
	(void)state;
	struct pmm_stats st;

	mm_host_setup(16 * MiB);
	assert_int_equal(pmm_alloc_pages(0), 0); /* not initialised yet */
	add(MM_FAKE_PHYS, 16 * MiB);
	pmm_init_done();
	pmm_get_stats(&st);
	/* 4096 pages * 12 bytes = 12 pages of metadata at the start. */
	assert_int_equal(st.meta_phys, MM_FAKE_PHYS);
	assert_int_equal(st.meta_bytes, 12 * PG);
	assert_int_equal(pmm_total_count(), 4096 - 12);
	assert_int_equal(pmm_free_count(), 4096 - 12);
	assert_int_equal(st.nr_ranges, 1);
	/* 4 GiB + 48 KiB .. 4 GiB + 16 MiB: 16K, then 64K, 128K, ... 2M, then 4M blocks. */
	assert_int_equal(st.free_blocks[PMM_MAX_ORDER], 3);

	uint64_t p = pmm_alloc_pages(PMM_MAX_ORDER);
	assert_true(p && (p & (4 * MiB - 1)) == 0);
	assert_int_equal(pmm_alloc_pages(PMM_MAX_ORDER + 1), 0);
	uint64_t q = pmm_alloc_page();
	assert_true(q && (q & (PG - 1)) == 0);
	pmm_free_page(q);
	pmm_free_pages(p, PMM_MAX_ORDER);
	exhaust_and_restore(1);
	assert_true(mm_host_irqs_enabled());
}

static void test_odd_ranges(void **state)
{
	(void)state;
	struct pmm_stats st;

	mm_host_setup(64 * MiB);
	/* Added out of order on purpose. */
	add(16 * GiB + 2 * MiB, 2 * MiB);                   /* touches the next one ... */
	add(MM_FAKE_PHYS + 0x123, 40 * MiB + 0x77 - 0x123);  /* unaligned both ends */
	add(16 * GiB, 2 * MiB);                             /* ... merged: one 4 MiB block */
	add(8 * GiB + 0x800, PG);                           /* straddles pages: none whole */
	add(8 * GiB + 16 * PG, PG);                         /* exactly one page */
	add(8 * GiB + 64 * PG + 5, 2 * PG);                 /* one whole page inside */
	add(MM_FAKE_PHYS + 48 * MiB, 3 * PG);               /* tiny, after a hole */
	add(MM_FAKE_PHYS + 48 * MiB + 5 * PG, 7 * PG + 99); /* odd page count */
	add(GiB * 1024 - 3 * PG, 8 * MiB + 5 * PG);         /* across 1 TiB, unaligned to 4 MiB */
	add(0xfff00000000ull, 0x100000);                    /* high */
	add(9 * GiB, 0);                                    /* empty */
	add(10 * GiB + 1, PG - 1);                          /* sub-page */
	pmm_init_done();

	pmm_get_stats(&st);
	assert_int_equal(st.meta_phys, MM_FAKE_PHYS + PG); /* first range, aligned up */
	assert_int_equal(st.total_pages + st.meta_bytes / PG, expected_pages());
	/* 12 added: 3 hold no whole page, the 16 GiB pair merged. */
	assert_int_equal(st.nr_ranges, 8);

	/* The merged pair is a single 4 MiB block at 16 GiB. */
	uint64_t s;
	unsigned o;
	enum page_owner ow;
	assert_false(pmm_find_block(16 * GiB + 3 * MiB, &s, &o, &ow)); /* free */
	exhaust_and_restore(2);
	exhaust_and_restore(3);
}

static void test_many_ranges(void **state)
{
	(void)state;
	uint64_t seed = 42;
	struct range *planned = calloc(600, sizeof(*planned));
	uint64_t at = MM_FAKE_PHYS + 32 * MiB;

	mm_host_setup(32 * MiB);
	/* Hundreds of discontiguous ranges of random size and alignment after
	 * one arena-backed range that takes the metadata. */
	planned[0] = (struct range){ MM_FAKE_PHYS, MM_FAKE_PHYS + 32 * MiB };
	for (size_t i = 1; i < 600; i++) {
		at += (mm_rand(&seed) % 64 + 1) * PG + mm_rand(&seed) % 7000; /* hole */
		uint64_t len = (mm_rand(&seed) % 300) * PG + mm_rand(&seed) % 5000;
		if (mm_rand(&seed) % 10 == 0)
			len += (mm_rand(&seed) % 64) * MiB;
		planned[i] = (struct range){ at, at + len };
		at += len;
	}
	/* Add them in a random order. */
	for (size_t i = 599; i > 0; i--) {
		size_t j = mm_rand(&seed) % (i + 1);
		struct range t = planned[i];
		planned[i] = planned[j];
		planned[j] = t;
	}
	for (size_t i = 0; i < 600; i++)
		add(planned[i].base, planned[i].end - planned[i].base);
	free(planned);
	pmm_init_done();

	struct pmm_stats st;
	pmm_get_stats(&st);
	assert_int_equal(st.meta_phys, MM_FAKE_PHYS);
	assert_int_equal(st.total_pages + st.meta_bytes / PG, expected_pages());
	assert_true(st.nr_ranges > 500);
	exhaust_and_restore(4);
}

static void test_64gib(void **state)
{
	(void)state;
	struct pmm_stats st;
	uint64_t at;

	mm_host_setup(256 * MiB);
	/* A PC-like map: low memory too small for the metadata, the arena, then
	 * big ranges with holes up to 64 GiB. */
	add(0, 0x9f000);                    /* page 0 is never handed out */
	add(0x100000, 0x7ee0000 - 0x100000);
	add(MM_FAKE_PHYS, 256 * MiB);
	for (at = MM_FAKE_PHYS + 512 * MiB; at < 64 * GiB; at += 2 * GiB + 64 * MiB)
		add(at, MIN(2 * GiB + 0x5000, 64 * GiB - at));
	pmm_init_done();

	pmm_get_stats(&st);
	assert_int_equal(st.meta_phys, MM_FAKE_PHYS);
	assert_int_equal(st.total_pages + st.meta_bytes / PG, expected_pages());
	assert_true(st.total_pages > 56 * GiB / PG);
	assert_int_equal(st.meta_bytes, ((expected_pages() * 12 + PG - 1) & ~(PG - 1)));

	/* Nothing handed out may be page 0. */
	assert_false(pmm_find_block(0, &at, &(unsigned){ 0 }, &(enum page_owner){ 0 }));
	exhaust_and_restore(5);
}

static void test_random_mix(void **state)
{
	(void)state;
	uint64_t seed = 7;
	struct blk live[512];
	size_t n = 0;
	uint64_t live_pages = 0;
	struct pmm_stats before, after;

	mm_host_setup(64 * MiB);
	add(MM_FAKE_PHYS + 5 * PG, 40 * MiB);
	add(MM_FAKE_PHYS + 45 * MiB + 0x800, 9 * MiB);
	add(20 * GiB + 7 * PG, 30 * MiB);
	pmm_init_done();
	pmm_get_stats(&before);

	for (int step = 0; step < 50000; step++) {
		if (n < ARRAY_SIZE(live) && mm_rand(&seed) % 100 < 55) {
			/* Mostly small orders, like a kernel. */
			unsigned order = (unsigned)(mm_rand(&seed) % 4 ? mm_rand(&seed) % 3
								  : mm_rand(&seed) % (PMM_MAX_ORDER + 1));
			uint64_t p = pmm_alloc_pages(order);
			if (p) {
				live[n++] = (struct blk){ p, order };
				live_pages += 1ull << order;
			}
		} else if (n) {
			size_t i = mm_rand(&seed) % n;
			pmm_free_pages(live[i].phys, live[i].order);
			live_pages -= 1ull << live[i].order;
			live[i] = live[--n];
		}
		assert_int_equal(pmm_free_count() + live_pages, before.total_pages);
		if (step % 5000 == 0) {
			struct blk copy[ARRAY_SIZE(live)];
			memcpy(copy, live, n * sizeof(*live));
			check_blocks(copy, n);
		}
	}
	while (n--)
		pmm_free_pages(live[n].phys, live[n].order);
	pmm_get_stats(&after);
	assert_int_equal(after.free_pages, after.total_pages);
	assert_memory_equal(after.free_blocks, before.free_blocks, sizeof(before.free_blocks));
}

static void test_find_block(void **state)
{
	(void)state;
	uint64_t s;
	unsigned o;
	enum page_owner ow;

	mm_host_setup(16 * MiB);
	add(MM_FAKE_PHYS, 16 * MiB);
	pmm_init_done();

	uint64_t p = pmm_alloc_pages(3);
	uint64_t q = pmm_alloc_owned(0, PAGE_OWNER_HEAP_SLAB);
	for (uint64_t off = 0; off < 8 * PG; off += 777) {
		assert_true(pmm_find_block(p + off, &s, &o, &ow));
		assert_int_equal(s, p);
		assert_int_equal(o, 3);
		assert_int_equal(ow, PAGE_OWNER_PMM);
	}
	assert_true(pmm_find_block(q + 100, &s, &o, &ow));
	assert_int_equal(s, q);
	assert_int_equal(o, 0);
	assert_int_equal(ow, PAGE_OWNER_HEAP_SLAB);

	struct pmm_stats st;
	pmm_get_stats(&st);
	assert_false(pmm_find_block(st.meta_phys, &s, &o, &ow));          /* metadata */
	assert_false(pmm_find_block(MM_FAKE_PHYS + 32 * MiB, &s, &o, &ow)); /* not RAM */
	pmm_free_pages(p, 3);
	assert_false(pmm_find_block(p, &s, &o, &ow)); /* free again */
	assert_false(pmm_find_block(p + 5 * PG, &s, &o, &ow));
	pmm_free_owned(q, 0, PAGE_OWNER_HEAP_SLAB);
	assert_int_equal(pmm_free_count(), pmm_total_count());

	/* Merged heads must stop being heads: take every single page, free
	 * them all from the top down (each block merges with the buddy above
	 * it), then take the largest block and look up each page inside it. */
	uint64_t total = pmm_total_count();
	uint64_t *pages = malloc(total * sizeof(*pages));
	for (uint64_t i = 0; i < total; i++)
		assert_true((pages[i] = pmm_alloc_page()) != 0);
	for (uint64_t i = total; i-- > 0;)
		pmm_free_page(pages[i]);
	free(pages);
	uint64_t big = pmm_alloc_pages(PMM_MAX_ORDER);
	for (uint64_t off = 0; off < (PG << PMM_MAX_ORDER); off += PG) {
		assert_true(pmm_find_block(big + off, &s, &o, &ow));
		assert_int_equal(s, big);
		assert_int_equal(o, PMM_MAX_ORDER);
		if (off)
			EXPECT_PANIC(pmm_free_page(big + off), "not the start of an allocated block");
	}
	pmm_free_pages(big, PMM_MAX_ORDER);
}

static void test_misuse(void **state)
{
	(void)state;
	struct pmm_stats st, st2;

	memset(&st, 0, sizeof(st)); /* compared with memcmp, padding included */
	memset(&st2, 0, sizeof(st2));
	mm_host_setup(16 * MiB);
	EXPECT_PANIC(pmm_init_done(), "no usable range");
	EXPECT_PANIC(pmm_free_pages(MM_FAKE_PHYS, 0), "not memory");
	add(MM_FAKE_PHYS, 8 * MiB);
	EXPECT_PANIC(pmm_add_range(MM_FAKE_PHYS + 8 * MiB - PG, 2 * PG), "overlaps");
	EXPECT_PANIC(pmm_add_range(MM_FAKE_PHYS - PG, 2 * PG), "overlaps");
	EXPECT_PANIC(pmm_add_range(MM_FAKE_PHYS + MiB, PG), "overlaps");
	add(MM_FAKE_PHYS + 12 * MiB, 4 * MiB);
	pmm_init_done();
	EXPECT_PANIC(pmm_init_done(), "twice");
	EXPECT_PANIC(pmm_add_range(MM_FAKE_PHYS + 9 * MiB, PG), "after pmm_init_done");
	pmm_get_stats(&st);

	uint64_t a = pmm_alloc_pages(0), b = pmm_alloc_pages(2), c = pmm_alloc_pages(0);
	assert_true(a && b && c);
	pmm_free_pages(a, 0);
	EXPECT_PANIC(pmm_free_pages(a, 0), "double free");
	EXPECT_PANIC(pmm_free_pages(b, 1), "different order");
	if (b & (8 * PG - 1))
		EXPECT_PANIC(pmm_free_pages(b, 3), "not a block of that order");
	else
		EXPECT_PANIC(pmm_free_pages(b, 3), "different order");
	EXPECT_PANIC(pmm_free_pages(b + PG, 0), "not the start of an allocated block");
	EXPECT_PANIC(pmm_free_pages(b + 2 * PG, 1), "not the start of an allocated block");
	EXPECT_PANIC(pmm_free_pages(b + 1, 0), "not a block of that order");
	EXPECT_PANIC(pmm_free_pages(b, PMM_MAX_ORDER + 1), "not memory");
	EXPECT_PANIC(pmm_free_pages(st.meta_phys, 0), "not memory");
	EXPECT_PANIC(pmm_free_pages(0, 0), "not memory");
	EXPECT_PANIC(pmm_free_pages(MM_FAKE_PHYS + 10 * MiB, 0), "not memory"); /* the hole */
	EXPECT_PANIC(pmm_free_owned(c, 0, PAGE_OWNER_HEAP_LARGE), "allocated by pmm_alloc_pages");
	pmm_free_pages(b, 2);
	EXPECT_PANIC(pmm_free_pages(b, 2), "double free");
	pmm_free_pages(c, 0);
	EXPECT_PANIC(pmm_free_pages(c, 0), "double free");

	/* None of that disturbed the allocator. */
	pmm_get_stats(&st2);
	assert_memory_equal(&st, &st2, sizeof(st));
	exhaust_and_restore(6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_single_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_64gib, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_mix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misuse, setup, teardown),
	};
	return cmocka_run_group_tests_name("page_alloc", tests, NULL, NULL);
}

/*
 * Host tests for the kernel heap (core/mm/heap.c) on top of the real page
 * allocator over fake physical memory: random alloc/free of random sizes with
 * pattern checks, alignment, size classes, large blocks, running out of
 * memory, slab release, and misuse detection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/mm.h>

#include "mm_host.h"

#define MiB (1ull << 20)
#define PG  4096ull

static int setup(void **state)
{
	(void)state;
	mm_host_setup(64 * MiB);
	pmm_add_range(MM_FAKE_PHYS, 64 * MiB);
	pmm_init_done();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mm_host_teardown();
	return 0;
}

/* After everything is freed: no live object, no large page, at most one
 * reserve slab per class, and the page allocator has the rest. */
static void check_all_freed(void)
{
	struct kmalloc_stats st;

	kmalloc_stats(&st);
	assert_int_equal(st.objects_in_use, 0);
	assert_int_equal(st.bytes_in_use, 0);
	assert_int_equal(st.large_pages, 0);
	for (unsigned c = 0; c < KMALLOC_NR_CLASSES; c++)
		assert_int_equal(st.class_in_use[c], 0);
	assert_true(st.slab_pages <= 1 + 1 + 1 + 1 + 1 + 2 + 4 + 8);
	assert_int_equal(pmm_free_count() + st.slab_pages, pmm_total_count());
	assert_true(mm_host_irqs_enabled());
}

static unsigned char pattern(size_t id, size_t i)
{
	return (unsigned char)(id * 131 + i * 7 + (i >> 8));
}

static void fill(unsigned char *p, size_t size, size_t id)
{
	for (size_t i = 0; i < size; i++)
		p[i] = pattern(id, i);
}

static void check(const unsigned char *p, size_t size, size_t id)
{
	for (size_t i = 0; i < size; i++) {
		if (p[i] != pattern(id, i))
			fail_msg("allocation %zu (%p, %zu bytes) corrupted at %zu", id, (void *)p, size, i);
	}
}

static void test_random(void **state)
{
	(void)state;
	enum { SLOTS = 2000 };
	static unsigned char *ptr[SLOTS];
	static size_t size[SLOTS], id[SLOTS];
	uint64_t seed = 12345;
	size_t next_id = 1;

	memset(ptr, 0, sizeof(ptr));
	for (int step = 0; step < 200000; step++) {
		size_t i = mm_rand(&seed) % SLOTS;
		if (ptr[i]) {
			check(ptr[i], size[i], id[i]);
			kfree(ptr[i]);
			ptr[i] = NULL;
			continue;
		}
		/* Mostly small, sometimes up to a few pages, rarely big. */
		uint64_t r = mm_rand(&seed) % 100;
		size_t sz = r < 80 ? mm_rand(&seed) % 300
			  : r < 97 ? mm_rand(&seed) % 5000 : mm_rand(&seed) % (200 * 1024);
		ptr[i] = kmalloc(sz);
		assert_non_null(ptr[i]);
		assert_true(((uintptr_t)ptr[i] & 15) == 0);
		assert_true(ksize(ptr[i]) >= sz);
		if (sz > KMALLOC_MAX_SMALL)
			assert_true(((uintptr_t)ptr[i] & (PG - 1)) == 0);
		size[i] = sz;
		id[i] = next_id++;
		fill(ptr[i], sz, id[i]);
	}

	struct kmalloc_stats st;
	kmalloc_stats(&st);
	size_t live = 0;
	for (size_t i = 0; i < SLOTS; i++)
		live += ptr[i] != NULL;
	assert_int_equal(st.objects_in_use, live);
	assert_int_equal(st.alloc_calls - st.free_calls, live);

	for (size_t i = 0; i < SLOTS; i++) {
		if (ptr[i]) {
			check(ptr[i], size[i], id[i]);
			kfree(ptr[i]);
		}
	}
	check_all_freed();
}

static void test_classes_and_large(void **state)
{
	(void)state;
	static const struct { size_t ask, got; } cases[] = {
		{ 0, 16 }, { 1, 16 }, { 16, 16 }, { 17, 32 }, { 100, 128 }, { 512, 512 },
		{ 513, 1024 }, { 2048, 2048 }, { 2049, 4096 }, { 4096, 4096 },
		{ 4097, 8192 }, { 100000, 131072 }, { 4 * MiB, 4 * MiB },
	};
	void *p[ARRAY_SIZE(cases)];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		p[i] = kmalloc(cases[i].ask);
		assert_non_null(p[i]);
		assert_int_equal(ksize(p[i]), cases[i].got);
		if (cases[i].ask > KMALLOC_MAX_SMALL)
			assert_true(((uintptr_t)p[i] & (PG - 1)) == 0); /* page-aligned */
	}
	assert_null(kmalloc(4 * MiB + 1));
	assert_null(kmalloc(SIZE_MAX));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		kfree(p[i]);
	kfree(NULL);
	assert_int_equal(ksize(NULL), 0);
	check_all_freed();
}

static void test_kzalloc_krealloc(void **state)
{
	(void)state;

	/* Dirty an object, free it, and get the same one back zeroed. */
	unsigned char *a = kmalloc(200);
	memset(a, 0xa5, 200);
	kfree(a);
	unsigned char *z = kzalloc(200);
	assert_ptr_equal(z, a);
	for (int i = 0; i < 200; i++)
		assert_int_equal(z[i], 0);
	kfree(z);

	unsigned char *big = kzalloc(3 * PG + 5);
	for (size_t i = 0; i < 3 * PG + 5; i++)
		assert_int_equal(big[i], 0);
	kfree(big);

	/* krealloc: grow keeps content; shrink stays put; NULL and 0. */
	unsigned char *r = krealloc(NULL, 10);
	assert_non_null(r);
	fill(r, 10, 1);
	r = krealloc(r, 16); /* same class */
	check(r, 10, 1);
	unsigned char *r2 = krealloc(r, 1000);
	assert_non_null(r2);
	check(r2, 10, 1);
	fill(r2, 1000, 2);
	r = krealloc(r2, 50000);
	check(r, 1000, 2);
	assert_ptr_equal(krealloc(r, 100), r);
	assert_null(krealloc(r, 0));
	check_all_freed();
}

static void test_slab_release(void **state)
{
	(void)state;
	enum { N = 5000 };
	static void *p[N];
	struct kmalloc_stats st;

	for (int i = 0; i < N; i++)
		assert_non_null(p[i] = kmalloc(16));
	kmalloc_stats(&st);
	assert_true(st.slab_pages >= N * 16 / PG);
	assert_int_equal(st.class_in_use[0], N);
	/* Free from the middle outwards so slabs empty in a mixed order. */
	for (int i = 0; i < N; i += 2)
		kfree(p[i]);
	for (int i = N - 1; i >= 0; i -= 2)
		kfree(p[i]);
	kmalloc_stats(&st);
	assert_int_equal(st.slab_pages, 1); /* one empty slab kept in reserve */
	check_all_freed();
}

static void test_out_of_memory(void **state)
{
	(void)state;
	enum { MAX = 100000 };
	void **p = calloc(MAX, sizeof(*p));
	size_t n = 0;

	/* Large blocks until they run out, then small objects until those do. */
	while (n < MAX && (p[n] = kmalloc(64 * 1024)))
		n++;
	assert_true(n > 100);
	while (n < MAX && (p[n] = kmalloc(512)))
		n++;
	assert_true(n < MAX);
	assert_int_equal(pmm_free_count(), 0);
	assert_null(kmalloc(64 * 1024));
	while (n)
		kfree(p[--n]);
	free(p);
	check_all_freed();
}

static void test_misuse(void **state)
{
	(void)state;
	char local;

	void *s = kmalloc(100);
	void *l = kmalloc(3 * PG);
	uint64_t page = pmm_alloc_page();

	kfree(s);
	EXPECT_PANIC(kfree(s), "double free");
	kfree(l);
	EXPECT_PANIC(kfree(l), "not allocated");

	void *m = kmalloc(64);
	EXPECT_PANIC(kfree((char *)m + 16), "not the start of an object");
	/* The 64-byte class lives in one-page slabs with the header first. */
	EXPECT_PANIC(kfree((void *)((uintptr_t)m & ~(PG - 1))), "not the start of an object");
	void *big = kmalloc(8 * PG);
	EXPECT_PANIC(kfree((char *)big + PG), "middle of a large block");
	EXPECT_PANIC(kfree(mm_host_ptr(page)), "pmm_alloc_pages");
	EXPECT_PANIC(kfree(&local), "not in the direct map");
	EXPECT_PANIC(ksize((char *)big + 8), "middle of a large block");

	/* The page allocator refuses heap blocks, and the other way round. */
	uint64_t big_phys = (uint64_t)((char *)big - (char *)mm_host_ptr(MM_FAKE_PHYS)) + MM_FAKE_PHYS;
	EXPECT_PANIC(pmm_free_pages(big_phys, 3), "allocated by kmalloc");

	/* Use after free: write into a freed object, then reuse it. */
	unsigned char *u = kmalloc(256);
	kfree(u);
	u[100] = 0;
	EXPECT_PANIC(kmalloc(256), "use after free");
	/* The corrupted object stays at the head of the list: repair it and
	 * the heap works again. */
	u[100] = 0x6b;
	assert_ptr_equal(kmalloc(256), u);
	kfree(u);

	/* Overwriting a free object's link or magic is noticed too. */
	unsigned char *v = kmalloc(256);
	kfree(v);
	memset(v, 0, 16);
	EXPECT_PANIC(kmalloc(200), "overwritten");

	kfree(m);
	kfree(big);
	pmm_free_page(page);
	assert_true(mm_host_irqs_enabled());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classes_and_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kzalloc_krealloc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slab_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misuse, setup, teardown),
	};
	return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}

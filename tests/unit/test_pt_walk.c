/*
 * arch/x86/mm/pt_walk.c on the host, with "physical" pages from
 * aligned_alloc (a page's physical address is its host address):
 *  - mapping a range builds one table per level and leaves with the
 *    caller's flags; the walk finds them, an address beside them is absent;
 *  - EPT's present rule (any of R/W/X) versus x86's (P): an EPT entry with
 *    only X set is present, an x86 entry without P is not;
 *  - a second mapping of an address is refused, names it, and leaves the
 *    first mapping as it was; a failure half-way leaves no leaf behind;
 *  - unaligned, empty and out-of-range requests are refused and change
 *    nothing; running out of table pages is reported as out of memory
 *    (WHY_NOMEM);
 *  - a large (PS) leaf is not walked through, and pt_destroy does not free
 *    what it points to;
 *  - pt_destroy frees every table page (the count goes back to 0).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <asm/pt_walk.h>
#include <vigil/why.h>

#define PAGE 4096ULL

struct pool {
	int allowed;               /* pages alloc may still hand out (-1: any) */
	int live;                  /* allocated and not freed */
};

static uint64_t pool_alloc(void *arg)
{
	struct pool *p = arg;
	if (p->allowed == 0)
		return 0;
	if (p->allowed > 0)
		p->allowed--;
	void *page = aligned_alloc(PAGE, PAGE);
	assert_non_null(page);
	memset(page, 0, PAGE);
	p->live++;
	return (uint64_t)(uintptr_t)page;
}

static void pool_free(void *arg, uint64_t pa)
{
	struct pool *p = arg;
	p->live--;
	free((void *)(uintptr_t)pa);
}

static void *pool_va(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

#define X86_P  (1ULL << 0)
#define X86_W  (1ULL << 1)
#define X86_U  (1ULL << 2)
#define X86_PS (1ULL << 7)
#define EPT_R  (1ULL << 0)
#define EPT_W  (1ULL << 1)
#define EPT_X  (1ULL << 2)
#define EPT_WB (6ULL << 3)

static const struct pt_format host_fmt = {
	.space = "virtual", .levels = 4, .present = X86_P, .table_flags = X86_P | X86_W, .large = X86_PS,
};
static const struct pt_format npt_fmt = {
	.space = "guest-physical", .levels = 4, .present = X86_P, .table_flags = X86_P | X86_W | X86_U,
};
static const struct pt_format ept_fmt = {
	.space = "guest-physical", .levels = 4, .present = EPT_R | EPT_W | EPT_X,
	.table_flags = EPT_R | EPT_W | EPT_X,
};

struct fixture {
	struct pool pool;
	struct pt_mem mem;
	struct pt pt;
};

static void setup(struct fixture *f, const struct pt_format *fmt)
{
	f->pool = (struct pool){ .allowed = -1 };
	f->mem = (struct pt_mem){ .alloc = pool_alloc, .free = pool_free, .va = pool_va, .arg = &f->pool };
	assert_int_equal(pt_init(&f->pt, fmt, &f->mem), 0);
	assert_int_equal(f->pt.tables, 1);
}

static void teardown(struct fixture *f)
{
	pt_destroy(&f->pt);
	assert_int_equal(f->pt.tables, 0);
	assert_int_equal(f->pool.live, 0);
}

static void map_builds_one_table_per_level(void **state)
{
	(void)state;
	const struct pt_format *fmts[] = { &host_fmt, &npt_fmt, &ept_fmt };
	const uint64_t flags[] = { X86_P | X86_W, X86_P | X86_W | X86_U, EPT_R | EPT_W | EPT_X | EPT_WB };
	for (unsigned i = 0; i < 3; i++) {
		struct fixture f;
		char why[128] = "";
		setup(&f, fmts[i]);
		assert_int_equal(pt_map(&f.pt, 0, 0x200000, 16 * PAGE, flags[i], why, sizeof(why)), 0);
		assert_int_equal(f.pt.tables, 4);  /* what vmx_selftest checks for slot 0 */
		for (uint64_t a = 0; a < 16 * PAGE; a += PAGE) {
			uint64_t *e = pt_entry(&f.pt, a, 1, false);
			assert_non_null(e);
			assert_int_equal(*e, (0x200000 + a) | flags[i]);
		}
		uint64_t *beside = pt_entry(&f.pt, 16 * PAGE, 1, false);
		assert_non_null(beside);  /* same leaf table, empty entry */
		assert_false(pt_present(&f.pt, *beside));
		assert_null(pt_entry(&f.pt, 1ULL << 39, 1, false));  /* another PML4 slot: no tables */
		/* A high address needs its own three tables. */
		assert_int_equal(pt_map(&f.pt, (1ULL << 47) - PAGE, 0x1000, PAGE, flags[i], why, sizeof(why)), 0);
		assert_int_equal(f.pt.tables, 7);
		teardown(&f);
	}
}

static void present_rule_follows_format(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, &ept_fmt);
	assert_true(pt_present(&f.pt, EPT_X));          /* execute-only is present in EPT */
	assert_false(pt_present(&f.pt, EPT_WB | 0x5000)); /* memory type alone is not */
	teardown(&f);
	setup(&f, &host_fmt);
	assert_false(pt_present(&f.pt, X86_W | X86_U | 0x5000));
	assert_true(pt_present(&f.pt, X86_P));
	teardown(&f);
}

static void double_map_refused_and_undone(void **state)
{
	(void)state;
	struct fixture f;
	char why[128] = "";
	setup(&f, &npt_fmt);
	const uint64_t fl = X86_P | X86_W | X86_U;
	assert_int_equal(pt_map(&f.pt, 4 * PAGE, 0x100000, PAGE, fl, why, sizeof(why)), 0);
	/* [0, 8 pages) overlaps the page at 4: refused there, pages 0-3 undone. */
	assert_int_equal(pt_map(&f.pt, 0, 0x300000, 8 * PAGE, fl, why, sizeof(why)), -1);
	assert_string_equal(why, "guest-physical 0x4000 is already mapped");
	for (uint64_t a = 0; a < 8 * PAGE; a += PAGE) {
		uint64_t e = *pt_entry(&f.pt, a, 1, false);
		if (a == 4 * PAGE)
			assert_int_equal(e, 0x100000 | fl);
		else
			assert_int_equal(e, 0);
	}
	pt_unmap(&f.pt, 4 * PAGE, PAGE);
	assert_int_equal(*pt_entry(&f.pt, 4 * PAGE, 1, false), 0);
	assert_int_equal(pt_map(&f.pt, 0, 0x300000, 8 * PAGE, fl, why, sizeof(why)), 0);
	teardown(&f);
}

static void bad_requests_change_nothing(void **state)
{
	(void)state;
	struct fixture f;
	char why[128] = "";
	setup(&f, &ept_fmt);
	const uint64_t fl = EPT_R | EPT_W | EPT_X;
	assert_int_equal(pt_map(&f.pt, 0x800, 0, PAGE, fl, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not made of whole 4 KiB pages"));
	assert_int_equal(pt_map(&f.pt, 0, 0x10, PAGE, fl, why, sizeof(why)), -1);
	assert_int_equal(pt_map(&f.pt, 0, 0, 0, fl, why, sizeof(why)), -1);
	assert_int_equal(pt_map(&f.pt, 1ULL << 48, 0, PAGE, fl, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "goes beyond"));
	assert_int_equal(pt_map(&f.pt, (1ULL << 48) - PAGE, 0, 2 * PAGE, fl, why, sizeof(why)), -1);
	assert_int_equal(pt_map(&f.pt, PAGE, 0, UINT64_MAX & ~(PAGE - 1), fl, why, sizeof(why)), -1);
	assert_int_equal(f.pt.tables, 1);
	/* Out of table pages after the PDPT: reported, nothing mapped. */
	f.pool.allowed = 1;
	/* ...as memory running out (WHY_NOMEM), in the words every other
	 * allocation failure of `vm create` uses: callers (stress) tell
	 * exhaustion from a fault by the cause. */
	int rc = pt_map(&f.pt, 0, 0, PAGE, fl, why, sizeof(why));
	assert_int_equal(why_cause(rc), WHY_NOMEM);
	assert_non_null(strstr(why, "out of memory for page tables mapping"));
	f.pool.allowed = -1;
	assert_null(pt_entry(&f.pt, 0, 1, false));
	teardown(&f);
}

static void large_leaf_not_walked_through(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, &host_fmt);
	uint64_t *pd = pt_entry(&f.pt, 0x40000000, 2, true);
	assert_non_null(pd);
	assert_int_equal(f.pt.tables, 3);
	*pd = 0x200000 | X86_P | X86_W | X86_PS;  /* a 2 MiB page */
	assert_null(pt_entry(&f.pt, 0x40001000, 1, true));
	assert_null(pt_entry(&f.pt, 0x40001000, 1, false));
	assert_int_equal(f.pt.tables, 3);
	assert_ptr_equal(pt_entry(&f.pt, 0x40000000, 2, false), pd);
	teardown(&f);  /* must not free 0x200000 as a table */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_builds_one_table_per_level),
		cmocka_unit_test(present_rule_follows_format),
		cmocka_unit_test(double_map_refused_and_undone),
		cmocka_unit_test(bad_requests_change_nothing),
		cmocka_unit_test(large_leaf_not_walked_through),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

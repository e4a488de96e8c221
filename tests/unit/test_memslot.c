/*
 * Host tests for memory slots (core/virt/memslot_*.c) on the real page
 * allocator and heap over fake physical memory: every named error and that
 * it changes nothing (set contents, frames, free pages), 512 slots then one
 * more, split/merge/resize/move keeping the guest's bytes by sharing frames,
 * the inhibit decision of each kind of change, the publish step's order
 * (swap, wait for readers, only then free), and the text form of changes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/memslot.h>
#include <vigil/mm.h>

#include "mm_host.h"

#define MiB (1ull << 20)
#define PG 4096ull

static struct memslot_pair pair;
static char why[WHY_MAX];
static struct memslot_txn_result res;

static uint64_t objects_at_start;

/* kmalloc'd objects alive now (slab pages may stay cached: objects, not
 * free pages, say whether something leaked). */
static uint64_t objects(void)
{
	struct kmalloc_stats st;
	kmalloc_stats(&st);
	return st.objects_in_use;
}

static int setup_arena(uint64_t bytes)
{
	mm_host_setup(bytes);
	pmm_add_range(MM_FAKE_PHYS, bytes);
	pmm_init_done();
	assert_int_equal(memslot_pair_init(&pair, 36, why, sizeof(why)), 0);
	objects_at_start = objects();
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_arena(64 * MiB);
}

static int teardown(void **state)
{
	(void)state;
	memslot_pair_destroy(&pair);
	assert_int_equal(memslot_frames_live(), 0);
	mm_host_teardown();
	return 0;
}

/* Parse text as a transaction and apply it to the pair; 0 or -cause. */
static int txn(const char *text)
{
	char buf[1024];
	char *argv[64];
	int argc = 0;
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
		argv[argc++] = w;
	struct memslot_txn t;
	int r = memslot_parse_txn(argc, argv, &t, why, sizeof(why));
	if (r)
		return r;
	return memslot_pair_update(&pair, &t, &res, why, sizeof(why));
}

#define OK(text) do {                                                  \
	int r_ = txn(text);                                            \
	if (r_)                                                        \
		fail_msg("%s: %s", (text), why);                       \
} while (0)

/* The active set as text: "id:gpa+size[ro] ..." */
static const char *dump(void)
{
	static char out[64 * 1024];
	size_t pos = 0;
	const struct memslot_set *set = memslot_pair_active(&pair);
	out[0] = 0;
	for (unsigned i = 0; i < set->nr; i++)
		pos += (size_t)snprintf(out + pos, sizeof(out) - pos, "%s%u:%lx+%lx%s", i ? " " : "", set->slot[i].id,
					(unsigned long)set->slot[i].gpa, (unsigned long)set->slot[i].size,
					set->slot[i].flags & MEMSLOT_RO ? "ro" : "");
	return out;
}

/* The inactive set is an exact copy of the active one between updates. */
static void check_copies_equal(void)
{
	const struct memslot_set *a = pair.active, *b = pair.inactive;
	assert_int_equal(a->nr, b->nr);
	assert_memory_equal(a->slot, b->slot, a->nr * sizeof(a->slot[0]));
	for (unsigned i = 0; i < a->nr; i++)
		assert_true(a->slot[i].backing->refs >= 2);
}

/* A refusal with this cause and text, and the set exactly as before. */
static void expect_refusal(const char *text, enum why_cause cause, const char *needle)
{
	char before[64 * 1024];
	snprintf(before, sizeof(before), "%s", dump());
	uint64_t frames = memslot_frames_live(), objs = objects(), updates = pair.updates;
	int r = txn(text);
	if (why_cause(r) != cause)
		fail_msg("%s: cause %d, expected %d (%s)", text, why_cause(r), cause, why);
	if (!strstr(why, needle))
		fail_msg("%s: \"%s\" lacks \"%s\"", text, why, needle);
	assert_string_equal(dump(), before);
	assert_int_equal(memslot_frames_live(), frames);
	assert_int_equal(objects(), objs);
	assert_int_equal(pair.updates, updates);
	check_copies_equal();
}

static void put64(uint64_t gpa, uint64_t v)
{
	assert_int_equal(memslot_write(memslot_pair_active(&pair), gpa, &v, 8, false, why, sizeof(why)), 0);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v = 0;
	if (memslot_read(memslot_pair_active(&pair), gpa, &v, 8, why, sizeof(why)))
		fail_msg("read 0x%lx: %s", (unsigned long)gpa, why);
	return v;
}

/* ---- basics ---- */

static void test_add_lookup(void **state)
{
	(void)state;
	OK("add gpa=0x10000 size=0x4000");
	OK("add gpa=0 size=0x1000 ro");
	OK("add gpa=0x2000 size=0x2000");
	assert_string_equal(dump(), "1:0+1000ro 2:2000+2000 0:10000+4000");
	const struct memslot_set *set = memslot_pair_active(&pair);
	assert_null(memslot_lookup(set, 1));
	assert_int_equal(memslot_lookup(set, 0)->id, 1);
	assert_int_equal(memslot_lookup(set, 3)->id, 2);
	assert_int_equal(memslot_lookup(set, 0x13)->id, 0);
	assert_null(memslot_lookup(set, 0x14));
	assert_null(memslot_lookup(set, UINT64_MAX));
	/* Fresh slots read as zero; a read-only one refuses guest writes. */
	assert_int_equal(get64(0x2ff8), 0);
	uint64_t v = 1;
	assert_int_equal(why_cause(memslot_write(set, 0, &v, 8, false, why, sizeof(why))), WHY_READ_ONLY);
	assert_non_null(strstr(why, "read-only"));
	assert_int_equal(memslot_write(set, 0, &v, 8, true, why, sizeof(why)), 0);
	assert_int_equal(why_cause(memslot_read(set, 0x1000, &v, 8, why, sizeof(why))), WHY_NO_SLOT);
	/* A write across two slots with a hole between is refused whole. */
	put64(0x3ff8, 7);
	uint64_t two[2] = { 1, 2 };
	assert_int_equal(why_cause(memslot_write(set, 0x3ff8, two, 16, false, why, sizeof(why))), WHY_NO_SLOT);
	assert_int_equal(get64(0x3ff8), 7);
	assert_int_equal(memslot_frames_live(), 7);
	check_copies_equal();
	assert_int_equal(pair.updates, 3);
	assert_int_equal(pair.inhibited, 0);
}

/* ---- every error, and that it changes nothing ---- */

static void test_errors(void **state)
{
	(void)state;
	OK("add gpa=0x10000 size=0x4000");
	OK("add gpa=0x20000 size=0x1000");
	expect_refusal("add gpa=0x13000 size=0x2000", WHY_OVERLAP, "overlaps slot 0");
	expect_refusal("add gpa=0xf000 size=0x2000", WHY_OVERLAP, "overlaps slot 0");
	expect_refusal("add gpa=0 size=0x100000", WHY_OVERLAP, "overlaps slot 0");
	expect_refusal("add gpa=0x1800 size=0x1000", WHY_MISALIGNED, "misaligned: gpa 0x1800");
	expect_refusal("add gpa=0x1000 size=0x800", WHY_MISALIGNED, "misaligned: size 0x800");
	expect_refusal("add gpa=0x1000 size=0", WHY_ZERO_SIZE, "zero size");
	expect_refusal("add gpa=0xffffff000 size=0x2000", WHY_ADDR_WIDTH, "36 bits");
	expect_refusal("add gpa=0x1000000000 size=0x1000", WHY_ADDR_WIDTH, "address width");
	expect_refusal("add gpa=0xfffffffffffff000 size=0x2000", WHY_ADDR_WIDTH, "address width");
	expect_refusal("del 7", WHY_NO_SLOT, "no slot 7");
	expect_refusal("move 7 gpa=0", WHY_NO_SLOT, "no slot 7");
	expect_refusal("move 1 gpa=0x12000", WHY_OVERLAP, "overlaps slot 0");
	expect_refusal("move 0 gpa=0xffffff000", WHY_ADDR_WIDTH, "width");
	OK("move 1 gpa=0xffffff000"); /* ends exactly at 2^36 */
	OK("move 1 gpa=0x20000");
	expect_refusal("move 1 gpa=0x20800", WHY_MISALIGNED, "misaligned");
	expect_refusal("resize 0 size=0x11000", WHY_OVERLAP, "overlaps slot 1");
	expect_refusal("resize 0 size=0", WHY_ZERO_SIZE, "zero size");
	expect_refusal("resize 0 size=0x1001", WHY_MISALIGNED, "misaligned");
	expect_refusal("resize 9 size=0x1000", WHY_NO_SLOT, "no slot 9");
	expect_refusal("split 0 at=0x10000", WHY_BAD_CHANGE, "not inside slot 0");
	expect_refusal("split 0 at=0x14000", WHY_BAD_CHANGE, "not inside slot 0");
	expect_refusal("split 0 at=0x11800", WHY_MISALIGNED, "misaligned");
	expect_refusal("split 5 at=0x11000", WHY_NO_SLOT, "no slot 5");
	expect_refusal("merge 0 1", WHY_BAD_CHANGE, "not adjacent");
	expect_refusal("merge 0 0", WHY_BAD_CHANGE, "itself");
	expect_refusal("merge 0 3", WHY_NO_SLOT, "no slot 3");
	OK("add gpa=0x14000 size=0x1000 ro");
	expect_refusal("merge 0 2", WHY_BAD_CHANGE, "different flags");
	/* Parse errors are named too, and change nothing. */
	expect_refusal("grow 0", WHY_BAD_CHANGE, "unknown change 'grow'");
	expect_refusal("add gpa=0x1000", WHY_BAD_CHANGE, "usage of add");
	expect_refusal("add gpa=0x1000 size=0x1000 rw", WHY_BAD_CHANGE, "unexpected 'rw'");
	expect_refusal("del x", WHY_BAD_CHANGE, "bad value 'x'");
	expect_refusal("del 512", WHY_NO_SLOT, "no slot 512");
	expect_refusal("move 0 gpa=zz", WHY_BAD_CHANGE, "bad value 'zz' for gpa=");
	expect_refusal("del 0 ; ; del 1", WHY_BAD_CHANGE, "empty change");
	expect_refusal("", WHY_BAD_CHANGE, "empty transaction");
}

static void test_out_of_memory(void **state)
{
	(void)state;
	/* Grab every free page but 8, then ask for more than that. */
	uint64_t hold[1 << 15];
	unsigned n = 0;
	while (pmm_free_count() > 8 && n < ARRAY_SIZE(hold))
		hold[n++] = pmm_alloc_page();
	assert_true(pmm_free_count() <= 8);
	expect_refusal("add gpa=0 size=0x10000", WHY_NOMEM, "out of memory");
	OK("add gpa=0 size=0x1000");
	/* Growing needs a new page: refused the same way. */
	while (pmm_free_count() > 0 && n < ARRAY_SIZE(hold))
		hold[n++] = pmm_alloc_page();
	expect_refusal("resize 0 size=0x8000", WHY_NOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++)
		pmm_free_page(hold[i]);
}

static void test_max_slots(void **state)
{
	(void)state;
	char text[64];
	for (unsigned i = 0; i < MEMSLOT_MAX; i++) {
		snprintf(text, sizeof(text), "add gpa=0x%x size=0x1000", (MEMSLOT_MAX - 1 - i) * 0x2000);
		OK(text);
	}
	const struct memslot_set *set = memslot_pair_active(&pair);
	assert_int_equal(set->nr, MEMSLOT_MAX);
	for (unsigned i = 0; i < MEMSLOT_MAX; i++) {
		assert_int_equal(set->slot[i].gpa, i * 0x2000ull);
		assert_int_equal(memslot_lookup(set, i * 2)->id, MEMSLOT_MAX - 1 - i);
		assert_null(memslot_lookup(set, i * 2 + 1));
	}
	expect_refusal("add gpa=0x1000 size=0x1000", WHY_TOO_MANY, "too many slots");
	OK("resize 5 size=0x2000");
	expect_refusal("split 5 at=0x3f5000", WHY_TOO_MANY, "too many slots");
	/* A delete makes room again, in the same transaction too. */
	OK("del 0 ; add gpa=0x1000 size=0x1000");
	assert_int_equal(memslot_lookup(memslot_pair_active(&pair), 1)->id, 0);
	assert_int_equal(pair.inhibited, 1); /* the resize */
}

/* ---- contents ---- */

static void fill(uint64_t gpa, uint64_t size, uint64_t seed)
{
	for (uint64_t o = 0; o < size; o += 8)
		put64(gpa + o, seed * 1000003 + o);
}

static void check(uint64_t gpa, uint64_t size, uint64_t seed)
{
	for (uint64_t o = 0; o < size; o += 8)
		if (get64(gpa + o) != seed * 1000003 + o)
			fail_msg("gpa 0x%lx: 0x%lx, expected 0x%lx", (unsigned long)(gpa + o),
				 (unsigned long)get64(gpa + o), (unsigned long)(seed * 1000003 + o));
}

static void test_contents_preserved(void **state)
{
	(void)state;
	OK("add gpa=0x100000 size=0x8000");
	fill(0x100000, 0x8000, 1);
	uint64_t frames = memslot_frames_live();
	uint64_t hpa[8];
	for (unsigned i = 0; i < 8; i++) {
		hpa[i] = memslot_gfn_to_hpa(memslot_lookup(memslot_pair_active(&pair), 0x100 + i), 0x100 + i);
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(hpa[i], hpa[j]);
	}
	/* split shares the frames: nothing allocated, nothing copied */
	OK("split 0 at=0x103000");
	assert_string_equal(dump(), "0:100000+3000 1:103000+5000");
	assert_int_equal(memslot_frames_live(), frames);
	check(0x100000, 0x8000, 1);
	/* move the upper half away and back */
	OK("move 1 gpa=0x200000");
	check(0x100000, 0x3000, 1);
	/* the same host pages, where the guest now finds them: nothing copied */
	for (unsigned i = 0; i < 8; i++) {
		uint64_t gfn = i < 3 ? 0x100 + i : 0x200 + i - 3;
		assert_int_equal(memslot_gfn_to_hpa(memslot_lookup(memslot_pair_active(&pair), gfn), gfn), hpa[i]);
	}
	for (uint64_t o = 0; o < 0x5000; o += 8)
		assert_int_equal(get64(0x200000 + o), 1 * 1000003 + 0x3000 + o);
	OK("move 1 gpa=0x103000");
	check(0x100000, 0x8000, 1);
	/* merge: one slot again, same bytes, still no new frame */
	OK("merge 0 1");
	assert_string_equal(dump(), "0:100000+8000");
	assert_int_equal(memslot_frames_live(), frames);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(memslot_gfn_to_hpa(memslot_lookup(memslot_pair_active(&pair), 0x100 + i), 0x100 + i),
				 hpa[i]);
	check(0x100000, 0x8000, 1);
	/* merge with the upper slot named first keeps its id, lower gpa */
	OK("split 0 at=0x104000 ; merge 1 0");
	assert_string_equal(dump(), "1:100000+8000");
	check(0x100000, 0x8000, 1);
	/* shrink keeps the start; grow keeps it and adds zeroed pages */
	OK("resize 1 size=0x2000");
	check(0x100000, 0x2000, 1);
	assert_int_equal(memslot_frames_live(), 2);
	OK("resize 1 size=0x6000");
	check(0x100000, 0x2000, 1);
	for (uint64_t o = 0x2000; o < 0x6000; o += 8)
		assert_int_equal(get64(0x100000 + o), 0);
	assert_int_equal(memslot_frames_live(), 6);
	/* a moved slot overlapping its old place */
	fill(0x100000, 0x6000, 2);
	OK("move 1 gpa=0x102000");
	check(0x102000, 0x6000, 2);
	assert_null(memslot_lookup(memslot_pair_active(&pair), 0x101));
	/* several changes, one step */
	OK("split 1 at=0x104000 ; move 0 gpa=0x300000 ; resize 1 size=0x1000");
	assert_string_equal(dump(), "1:102000+1000 0:300000+4000");
	for (uint64_t o = 0; o < 0x1000; o += 8)
		assert_int_equal(get64(0x102000 + o), 2 * 1000003 + o);
	for (uint64_t o = 0; o < 0x4000; o += 8)
		assert_int_equal(get64(0x300000 + o), 2 * 1000003 + 0x2000 + o);
	/* a failing transaction changes nothing, even after changes that worked */
	expect_refusal("del 1 ; split 0 at=0x301000 ; add gpa=0x303000 size=0x1000", WHY_OVERLAP,
		       "change 3 (add): overlap: gpa 0x303000 size 0x1000 overlaps slot 1");
	check_copies_equal();
	OK("del 0 ; del 1");
	assert_int_equal(memslot_frames_live(), 0);
	assert_int_equal(objects(), objects_at_start);
}

/* ---- when inhibition is needed ---- */

static bool inhibits(const char *text)
{
	OK(text);
	return res.inhibit;
}

static void test_inhibit_decision(void **state)
{
	(void)state;
	OK("add gpa=0x10000 size=0x4000");
	OK("add gpa=0x40000 size=0x4000");
	assert_false(inhibits("add gpa=0x80000 size=0x1000"));        /* unrelated add */
	assert_int_equal(res.deleted, 0);
	assert_int_equal(res.added, 1);
	assert_false(inhibits("del 2"));                              /* unrelated delete */
	assert_int_equal(res.deleted, 1);
	assert_int_equal(res.added, 0);
	assert_false(inhibits("add gpa=0x90000 size=0x1000 ; del 1")); /* both, far apart */
	assert_false(inhibits("move 2 gpa=0x100000"));                /* moved clear of itself */
	assert_true(inhibits("split 0 at=0x12000"));
	assert_int_equal(res.deleted, 1);
	assert_int_equal(res.added, 2);
	assert_true(inhibits("merge 0 1"));
	assert_true(inhibits("resize 0 size=0x8000"));
	assert_true(inhibits("resize 0 size=0x2000"));
	assert_true(inhibits("move 0 gpa=0x11000"));                  /* overlaps its old place */
	assert_true(inhibits("del 0 ; add gpa=0x11000 size=0x1000"));  /* delete + add in place */
	/* Neighbours touching but not overlapping: an add next to a delete. */
	assert_false(inhibits("del 0 ; add gpa=0x12000 size=0x1000"));
	assert_false(inhibits("add gpa=0x200000 size=0x1000 ; add gpa=0x201000 size=0x1000"));
	assert_int_equal(pair.updates, 14);
	assert_int_equal(pair.inhibited, 6);
}

/* ---- the publish step ---- */

static struct memslot_set *seen_active;
static uint64_t frames_in_wait;
static unsigned waits, inhibit_on, inhibit_off;
static bool inhibited_at_swap;

static void wait_readers(void *arg)
{
	assert_ptr_equal(arg, &pair);
	waits++;
	seen_active = pair.active;
	frames_in_wait = memslot_frames_live();
	/* still inhibited while readers drain, when inhibiting at all */
	inhibited_at_swap = inhibit_on > inhibit_off;
}

static void inhibit(void *arg, bool on)
{
	assert_ptr_equal(arg, &pair);
	if (on) {
		assert_int_equal(inhibit_on, inhibit_off);
		inhibit_on++;
	} else {
		inhibit_off++;
	}
}

static void test_publish(void **state)
{
	(void)state;
	pair.wait_readers = wait_readers;
	pair.inhibit = inhibit;
	pair.arg = &pair;
	OK("add gpa=0x10000 size=0x4000");
	struct memslot_set *first = pair.active;
	assert_int_equal(waits, 1);
	assert_ptr_equal(seen_active, first);   /* swapped before the wait */
	assert_int_equal(inhibit_on, 0);
	OK("add gpa=0x20000 size=0x1000");
	assert_ptr_not_equal(pair.active, first); /* the two copies alternate */
	assert_ptr_equal(pair.inactive, first);
	/* A delete frees its frames only after readers are gone. */
	OK("del 1");
	assert_int_equal(frames_in_wait, 5);
	assert_int_equal(memslot_frames_live(), 4);
	assert_false(inhibited_at_swap);
	OK("split 0 at=0x11000");
	assert_int_equal(inhibit_on, 1);
	assert_int_equal(inhibit_off, 1);
	assert_true(inhibited_at_swap);
	/* A refusal neither swaps nor waits. */
	struct memslot_set *active = pair.active;
	assert_int_equal(why_cause(txn("del 9")), WHY_NO_SLOT);
	assert_ptr_equal(pair.active, active);
	assert_int_equal(waits, 4);
	check_copies_equal();
}

/* A reader that found the old active set before a swap searches its slot
 * array until the wait is over: an update that grows the sets (more slots
 * than the old set has room for) must leave that array alone until then. */
static const struct memslot_set *reader_set;
static const struct memslot *reader_slots;
static struct memslot reader_copy[4];
static unsigned reader_checks;

static void wait_readers_check_old(void *arg)
{
	(void)arg;
	reader_checks++;
	assert_ptr_equal(reader_set->slot, reader_slots);
	assert_int_equal(reader_set->nr, 4);
	assert_memory_equal(reader_slots, reader_copy, sizeof(reader_copy));
	for (unsigned i = 0; i < 4; i++)
		assert_ptr_equal(memslot_lookup(reader_set, reader_copy[i].gpa >> 12), &reader_slots[i]);
}

static void test_publish_growth_keeps_old_array(void **state)
{
	(void)state;
	OK("add gpa=0x10000 size=0x1000 ; add gpa=0x20000 size=0x1000 ; add gpa=0x30000 size=0x1000 ; "
	   "add gpa=0x40000 size=0x1000");
	reader_set = memslot_pair_active(&pair);
	assert_int_equal(reader_set->nr, 4);
	assert_int_equal(reader_set->cap, 4);  /* full: one more slot needs a bigger array */
	reader_slots = reader_set->slot;
	memcpy(reader_copy, reader_slots, sizeof(reader_copy));
	pair.wait_readers = wait_readers_check_old;
	OK("add gpa=0x50000 size=0x1000");
	assert_int_equal(reader_checks, 1);
	assert_ptr_not_equal(memslot_pair_active(&pair), reader_set);
	assert_int_equal(memslot_pair_active(&pair)->nr, 5);
	/* And both sets hold the five afterwards, the next update swapping back. */
	check_copies_equal();
	reader_set = memslot_pair_active(&pair);
	reader_slots = reader_set->slot;
	pair.wait_readers = NULL;
	OK("add gpa=0x60000 size=0x1000");
	check_copies_equal();
	assert_int_equal(memslot_pair_active(&pair)->nr, 6);
}

/* ---- what each swap changes, and the naive mode ---- */

static unsigned gaps;          /* waits that found 0x10000..0x14000 not wholly in slots */
static char changes[512];      /* what memslot_for_each_change reported, in order */

static void note_gap(void *arg)
{
	(void)arg;
	const struct memslot_set *set = memslot_pair_active(&pair);
	for (uint64_t gfn = 0x10; gfn < 0x14; gfn++)
		if (!memslot_lookup(set, gfn)) {
			gaps++;
			return;
		}
}

static void note_change(const struct memslot *s, bool added, void *arg)
{
	(void)arg;
	size_t n = strlen(changes);
	snprintf(changes + n, sizeof(changes) - n, "%s%c%u:%lx+%lx", n ? " " : "", added ? '+' : '-', s->id,
		 (unsigned long)s->gpa, (unsigned long)s->size);
}

static void changed(void *arg, const struct memslot_set *before, const struct memslot_set *after)
{
	(void)arg;
	assert_ptr_equal(after, pair.active);
	size_t n = strlen(changes);
	snprintf(changes + n, sizeof(changes) - n, "%s|", n ? " " : "");
	memslot_for_each_change(before, after, note_change, NULL);
}

static void test_changes_and_naive(void **state)
{
	(void)state;
	pair.wait_readers = note_gap;
	pair.changed = changed;
	OK("add gpa=0x10000 size=0x4000 ; add gpa=0x40000 size=0x1000");
	assert_string_equal(changes, "| +0:10000+4000 +1:40000+1000");
	changes[0] = 0;
	OK("split 0 at=0x12000 ; del 1");
	assert_string_equal(changes, "| -0:10000+4000 -1:40000+1000 +0:10000+2000 +2:12000+2000");
	changes[0] = 0;
	OK("merge 0 2 ; resize 0 size=0x8000 ; resize 0 size=0x4000");
	assert_string_equal(changes, "| -0:10000+2000 -2:12000+2000 +0:10000+4000");
	assert_int_equal(gaps, 0);   /* atomic: no reader ever finds the range missing */
	/* Naive: the deletes are published, waited for, then the adds. */
	pair.naive = true;
	uint64_t inhibited = pair.inhibited;
	changes[0] = 0;
	OK("split 0 at=0x11000");
	assert_string_equal(changes, "| -0:10000+4000 | +0:10000+1000 +1:11000+3000");
	assert_int_equal(gaps, 1);
	assert_true(res.inhibit);                   /* it would have been needed... */
	assert_int_equal(pair.inhibited, inhibited); /* ...and naive does not */
	OK("merge 0 1");
	assert_int_equal(gaps, 2);
	OK("add gpa=0x80000 size=0x1000");          /* unrelated: no gap either way */
	assert_int_equal(gaps, 2);
	check_copies_equal();
	assert_string_equal(dump(), "0:10000+4000 1:80000+1000");
}

/* ---- the text form ---- */

/* ---- host invalidation: replacing frames, the swap hook ---- */

/* A frame's page changes under every backing that lists it: migrate keeps
 * the bytes in a new page; reclaim takes the page away, keeping nonzero
 * contents aside, and the next touch faults a fresh page back in with them;
 * the retired page lives until the caller frees it. */
static void test_frame_migrate_reclaim(void **state)
{
	(void)state;
	OK("add gpa=0x10000 size=0x3000");
	put64(0x10008, 0x1234abcd);
	put64(0x11008, 0x55);
	const struct memslot *s = memslot_lookup(memslot_pair_active(&pair), 0x10);
	struct memslot_frame *f0 = s->backing->frame[0], *f1 = s->backing->frame[1], *f2 = s->backing->frame[2];
	uint64_t hpa = memslot_gfn_to_hpa(s, 0x10), frames = memslot_frames_live();
	uint64_t saved = memslot_frames_saved(), back = memslot_frames_faulted_back();

	/* migrate */
	uint64_t page = pmm_alloc_page();
	struct memslot_retired old;
	assert_true(memslot_frame_migrate(f0, page, &old));
	assert_int_equal(old.hpa, hpa);
	assert_int_equal(memslot_gfn_to_hpa(s, 0x10), page);
	assert_int_equal(memslot_frames_live(), frames + 1);
	assert_int_equal(get64(0x10008), 0x1234abcd);
	const struct memslot *t = memslot_lookup(pair.inactive, 0x10);
	assert_int_equal(memslot_gfn_to_hpa(t, 0x10), page);  /* the other set lists the same frame */
	memslot_retired_free(&old);
	assert_int_equal(old.hpa, 0);
	assert_int_equal(memslot_frames_live(), frames);

	/* reclaim of a page with data: kept aside, faulted back in on a read */
	void *spare = kmalloc(PAGE_SIZE);
	assert_true(memslot_frame_reclaim(f1, &spare, &old));
	assert_null(spare);
	assert_int_equal(f1->hpa, 0);
	assert_int_equal(memslot_frames_saved(), saved + 1);
	memslot_retired_free(&old);
	assert_int_equal(memslot_frames_live(), frames - 1);
	/* not resident: nothing to move or take */
	page = pmm_alloc_page();
	assert_false(memslot_frame_migrate(f1, page, &old));
	assert_int_equal(old.hpa, 0);
	pmm_free_page(page);
	spare = kmalloc(PAGE_SIZE);
	assert_false(memslot_frame_reclaim(f1, &spare, &old));
	assert_non_null(spare);
	assert_int_equal(get64(0x11008), 0x55);
	assert_int_not_equal(f1->hpa, 0);
	assert_int_equal(memslot_frames_faulted_back(), back + 1);
	assert_int_equal(memslot_frames_saved(), saved);
	assert_int_equal(memslot_frames_live(), frames);

	/* reclaim of a page of zeros keeps nothing; it comes back zeroed */
	assert_true(memslot_frame_reclaim(f2, &spare, &old));
	assert_non_null(spare);
	assert_null(f2->saved);
	memslot_retired_free(&old);
	kfree(spare);
	assert_int_equal(get64(0x12008), 0);
	assert_int_equal(memslot_frames_live(), frames);

	/* a frame freed while not resident frees what it kept */
	spare = kmalloc(PAGE_SIZE);
	put64(0x11010, 7);
	assert_true(memslot_frame_reclaim(f1, &spare, &old));
	memslot_retired_free(&old);
	assert_int_equal(get64(0x10008), 0x1234abcd);
	check_copies_equal();
}

static struct memslot_set *swapped_to;
static unsigned swaps;

static void swap_hook(void *arg, struct memslot_set *set)
{
	struct memslot_pair *p = arg;
	swapped_to = set;
	swaps++;
	__atomic_store_n(&p->active, set, __ATOMIC_RELEASE);
}

/* A pair with a swap hook publishes through it, once per update. */
static void test_swap_hook(void **state)
{
	(void)state;
	pair.swap = swap_hook;
	pair.arg = &pair;
	swaps = 0;
	OK("add gpa=0x10000 size=0x4000");
	assert_int_equal(swaps, 1);
	assert_ptr_equal(swapped_to, pair.active);
	OK("split 0 at=0x11000");
	assert_int_equal(swaps, 2);
	assert_ptr_equal(swapped_to, pair.active);
	assert_string_equal(dump(), "0:10000+1000 1:11000+3000");
	pair.swap = NULL;
}

static void test_parse(void **state)
{
	(void)state;
	char w[][24] = { "add", "gpa=0x1000", "size=4096", "ro;", "split", "3", "at=0x2000", ";", "merge", "1", "2;",
			 "resize", "4", "size=0x3000", ";", "move", "5", "gpa=0", ";", "del", "6", ";" };
	char *argv[ARRAY_SIZE(w)];
	for (unsigned i = 0; i < ARRAY_SIZE(w); i++)
		argv[i] = w[i];
	struct memslot_txn t;
	assert_int_equal(memslot_parse_txn(ARRAY_SIZE(w), argv, &t, why, sizeof(why)), 0);
	assert_int_equal(t.n, 6);
	assert_int_equal(t.c[0].op, MEMSLOT_ADD);
	assert_int_equal(t.c[0].gpa, 0x1000);
	assert_int_equal(t.c[0].size, 4096);
	assert_int_equal(t.c[0].flags, MEMSLOT_RO);
	assert_int_equal(t.c[1].op, MEMSLOT_SPLIT);
	assert_int_equal(t.c[1].slot, 3);
	assert_int_equal(t.c[1].gpa, 0x2000);
	assert_int_equal(t.c[2].op, MEMSLOT_MERGE);
	assert_int_equal(t.c[2].slot, 1);
	assert_int_equal(t.c[2].slot2, 2);
	assert_int_equal(t.c[3].op, MEMSLOT_RESIZE);
	assert_int_equal(t.c[3].size, 0x3000);
	assert_int_equal(t.c[4].op, MEMSLOT_MOVE);
	assert_int_equal(t.c[4].gpa, 0);
	assert_int_equal(t.c[5].op, MEMSLOT_DEL);
	assert_int_equal(t.c[5].slot, 6);
	/* key order does not matter; repeated keys do */
	char a0[] = "add", a1[] = "size=0x1000", a2[] = "gpa=0x2000", a3[] = "gpa=0x3000";
	char *av[] = { a0, a1, a2, a3 };
	struct memslot_change c;
	assert_int_equal(memslot_parse_change(3, av, &c, why, sizeof(why)), 0);
	assert_int_equal(c.gpa, 0x2000);
	assert_int_equal(c.size, 0x1000);
	assert_int_equal(why_cause(memslot_parse_change(4, av, &c, why, sizeof(why))), WHY_BAD_CHANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contents_preserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inhibit_decision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_growth_keeps_old_array, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_and_naive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_migrate_reclaim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_hook, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The publish step under concurrent readers (ThreadSanitizer): reader
 * threads look up every page of a range and read its bytes through the
 * active slot set, nonstop, while the updater splits, merges, resizes and
 * moves the slot holding that range (and adds, moves and deletes another
 * one), hundreds of times.  The range always has a slot in every published
 * set, so a reader must never miss it, and its bytes never change, so a
 * reader must always read them back: a frame freed (and reused, zeroed, by
 * the next grow) before the readers of the old set are gone shows up as a
 * wrong word, and a missing barrier as a TSan report.
 *
 * The readers' section is a per-reader sequence counter (odd: inside), and
 * wait_readers waits until every reader that was inside when it looked has
 * left: the smallest correct grace period, standing in for SRCU here.
 *
 * The second test adds host invalidation: invalidator threads migrate and
 * reclaim the range's pages (memslot_frame_migrate/_reclaim) under a mutex
 * standing for the VM's MMU lock, while the readers read under it and the
 * updater goes on reshaping the slots: every set lists the same frames, so
 * the bytes must still never change for a reader (a reclaimed page comes
 * back with them at its next read).
 */
#include <pthread.h>
#include <sched.h>
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
#define READERS 2
#define INVALIDATORS 2
#define SECTIONS 20000   /* read sections per reader; the updater runs until they are done */
#define INVALIDATIONS 4000 /* per invalidator thread */
#define RANGE_GPA 0x100000ull
#define RANGE_PAGES 16ull

static struct memslot_pair pair;
static uint64_t seq[READERS + INVALIDATORS];
static int done, nsections = READERS;
static uint64_t misses, wrong, lookups;
/* Host invalidation (second test): the VM's MMU lock, and what was done. */
static bool with_mmu;
static pthread_mutex_t mmu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t migrated, reclaimed, absent;

static uint64_t word(uint64_t gpa)
{
	return gpa * 0x9E3779B97F4A7C15ull | 1;
}

static void wait_readers(void *arg)
{
	(void)arg;
	for (int r = 0; r < nsections; r++) {
		/* A read-modify-write, not a load: it reads the latest count, and a
		 * reader whose "inside" increment comes after it in that counter's
		 * order synchronizes with it, so that reader sees the swap. */
		uint64_t v = __atomic_fetch_add(&seq[r], 0, __ATOMIC_SEQ_CST);
		if (!(v & 1))
			continue;
		while (__atomic_load_n(&seq[r], __ATOMIC_ACQUIRE) == v)
			sched_yield();
	}
}

static void *reader(void *arg)
{
	int me = (int)(intptr_t)arg;
	uint64_t n = 0, miss = 0, bad = 0;
	char why[WHY_MAX];
	for (unsigned k = 0; k < SECTIONS; k++) {
		__atomic_fetch_add(&seq[me], 1, __ATOMIC_SEQ_CST);  /* inside */
		const struct memslot_set *set = memslot_pair_active(&pair);
		for (uint64_t p = 0; p < RANGE_PAGES; p++) {
			uint64_t gpa = RANGE_GPA + p * 4096 + (n % 512) * 8, v = 0;
			n++;
			if (!memslot_lookup(set, gpa >> 12)) {
				miss++;
				continue;
			}
			if (with_mmu)
				pthread_mutex_lock(&mmu);
			if (memslot_read(set, gpa, &v, 8, why, sizeof(why)) || v != word(gpa))
				bad++;
			if (with_mmu)
				pthread_mutex_unlock(&mmu);
		}
		__atomic_fetch_add(&seq[me], 1, __ATOMIC_RELEASE);  /* outside */
		sched_yield();  /* two cores, shared: let the updater run */
	}
	__atomic_fetch_add(&lookups, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&misses, miss, __ATOMIC_RELAXED);
	__atomic_fetch_add(&wrong, bad, __ATOMIC_RELAXED);
	__atomic_fetch_add(&done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Migrate or reclaim random pages of the range, as `vm mem migrate|reclaim`
 * does on a VM: the set from inside a section (so its frames stay), each
 * page changed under the MMU lock, the retired page freed after it. */
static void *invalidator(void *arg)
{
	int me = (int)(intptr_t)arg;
	uint64_t rng = 777 + (uint64_t)me, mig = 0, rec = 0, abs = 0;
	for (unsigned k = 0; k < INVALIDATIONS; k++) {
		__atomic_fetch_add(&seq[me], 1, __ATOMIC_SEQ_CST);  /* inside */
		const struct memslot_set *set = memslot_pair_active(&pair);
		uint64_t gfn = (RANGE_GPA >> 12) + mm_rand(&rng) % RANGE_PAGES;
		const struct memslot *s = memslot_lookup(set, gfn);
		struct memslot_frame *f = s->backing->frame[gfn - (s->gpa >> 12)];
		bool migrate = mm_rand(&rng) % 3 != 0;
		uint64_t page = migrate ? pmm_alloc_page() : 0;
		void *spare = migrate ? NULL : kmalloc(4096);
		assert_true(page || spare);
		struct memslot_retired old;
		pthread_mutex_lock(&mmu);
		bool changed = migrate ? memslot_frame_migrate(f, page, &old) : memslot_frame_reclaim(f, &spare, &old);
		pthread_mutex_unlock(&mmu);
		__atomic_fetch_add(&seq[me], 1, __ATOMIC_RELEASE);  /* outside */
		memslot_retired_free(&old);
		if (migrate && !changed)
			pmm_free_page(page);
		kfree(spare);
		if (!changed)
			abs++;
		else if (migrate)
			mig++;
		else
			rec++;
		sched_yield();
	}
	__atomic_fetch_add(&migrated, mig, __ATOMIC_RELAXED);
	__atomic_fetch_add(&reclaimed, rec, __ATOMIC_RELAXED);
	__atomic_fetch_add(&absent, abs, __ATOMIC_RELAXED);
	__atomic_fetch_add(&done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static struct memslot_txn one(enum memslot_op op, unsigned slot, unsigned slot2, uint64_t gpa, uint64_t size)
{
	struct memslot_txn t = { .n = 1 };
	t.c[0] = (struct memslot_change){ .op = op, .slot = slot, .slot2 = slot2, .gpa = gpa, .size = size };
	return t;
}

static void update(struct memslot_txn t)
{
	char why[WHY_MAX];
	if (memslot_pair_update(&pair, &t, NULL, why, sizeof(why)))
		fail_msg("update %d: %s", t.c[0].op, why);
}

static void run_under_readers(bool invalidate)
{
	char why[WHY_MAX];
	with_mmu = invalidate;
	nsections = invalidate ? READERS + INVALIDATORS : READERS;
	done = 0;
	misses = wrong = lookups = migrated = reclaimed = absent = 0;
	memset(seq, 0, sizeof(seq));
	mm_host_setup(64 * MiB);
	pmm_add_range(MM_FAKE_PHYS, 64 * MiB);
	pmm_init_done();
	assert_int_equal(memslot_pair_init(&pair, 40, why, sizeof(why)), 0);
	pair.wait_readers = wait_readers;
	update(one(MEMSLOT_ADD, 0, 0, RANGE_GPA, RANGE_PAGES * 4096));
	for (uint64_t o = 0; o < RANGE_PAGES * 4096; o += 8) {
		uint64_t v = word(RANGE_GPA + o);
		assert_int_equal(memslot_write(pair.active, RANGE_GPA + o, &v, 8, false, why, sizeof(why)), 0);
	}
	pthread_t t[READERS + INVALIDATORS];
	for (int r = 0; r < READERS; r++)
		assert_int_equal(pthread_create(&t[r], NULL, reader, (void *)(intptr_t)r), 0);
	for (int r = READERS; r < nsections; r++)
		assert_int_equal(pthread_create(&t[r], NULL, invalidator, (void *)(intptr_t)r), 0);
	uint64_t rng = 12345;
	for (unsigned i = 0; __atomic_load_n(&done, __ATOMIC_ACQUIRE) < nsections; i++) {
		uint64_t at = RANGE_GPA + (1 + mm_rand(&rng) % (RANGE_PAGES - 1)) * 4096;
		switch (i % 5) {
		case 0: /* split then merge back (slot 0 keeps the low part, 1 the high) */
			update(one(MEMSLOT_SPLIT, 0, 0, at, 0));
			update(one(MEMSLOT_MERGE, 0, 1, 0, 0));
			break;
		case 1: /* grow and shrink: the range's frames stay, new ones come and go */
			update(one(MEMSLOT_RESIZE, 0, 0, 0, (RANGE_PAGES + 1 + mm_rand(&rng) % 8) * 4096));
			update(one(MEMSLOT_RESIZE, 0, 0, 0, RANGE_PAGES * 4096));
			break;
		case 2: /* an unrelated slot comes, moves, goes */
			update(one(MEMSLOT_ADD, 0, 0, 0x400000, 0x3000));
			update(one(MEMSLOT_MOVE, 1, 0, 0x500000, 0));
			update(one(MEMSLOT_DEL, 1, 0, 0, 0));
			break;
		case 3: { /* split, move the high part away and back, merge: one transaction */
			struct memslot_txn x = { .n = 4 };
			x.c[0] = (struct memslot_change){ .op = MEMSLOT_SPLIT, .slot = 0, .gpa = at };
			x.c[1] = (struct memslot_change){ .op = MEMSLOT_MOVE, .slot = 1, .gpa = 0x800000 };
			x.c[2] = (struct memslot_change){ .op = MEMSLOT_MOVE, .slot = 1, .gpa = at };
			x.c[3] = (struct memslot_change){ .op = MEMSLOT_MERGE, .slot = 0, .slot2 = 1 };
			update(x);
			break;
		}
		case 4: /* split, leave it split for a while, merge */
			update(one(MEMSLOT_SPLIT, 0, 0, at, 0));
			update(one(MEMSLOT_ADD, 0, 0, 0x400000, 0x1000));
			update(one(MEMSLOT_DEL, 2, 0, 0, 0));
			update(one(MEMSLOT_MERGE, 0, 1, 0, 0));
			break;
		}
	}
	for (int r = 0; r < nsections; r++)
		pthread_join(t[r], NULL);
	print_message("# %lu updates (%lu inhibiting), %lu reads, %lu misses, %lu wrong words; "
		      "%lu migrations, %lu reclaims, %lu of pages not resident\n",
		      (unsigned long)pair.updates, (unsigned long)pair.inhibited, (unsigned long)lookups,
		      (unsigned long)misses, (unsigned long)wrong, (unsigned long)migrated,
		      (unsigned long)reclaimed, (unsigned long)absent);
	if (invalidate) {
		assert_int_equal(migrated + reclaimed + absent, (uint64_t)INVALIDATORS * INVALIDATIONS);
		assert_true(migrated > 0 && reclaimed > 0);
	}
	assert_int_equal(misses, 0);
	assert_int_equal(wrong, 0);
	assert_int_equal(lookups, (uint64_t)READERS * SECTIONS * RANGE_PAGES);
	memslot_pair_destroy(&pair);
	assert_int_equal(memslot_frames_live(), 0);
	assert_int_equal(memslot_frames_saved(), 0);
	mm_host_teardown();
}

static void test_publish_under_readers(void **state)
{
	(void)state;
	run_under_readers(false);
}

static void test_invalidation_under_readers_and_updates(void **state)
{
	(void)state;
	run_under_readers(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_under_readers),
		cmocka_unit_test(test_invalidation_under_readers_and_updates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

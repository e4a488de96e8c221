/*
 * Benchmarks of slot transactions (`bench`, include/vigil/bench.h), each
 * sample one whole update of a slot-set pair -- apply to the inactive copy,
 * compare, swap, bring the other copy up to date -- in ns of arch_time_ns(),
 * with MEMSLOT_BENCH_SLOTS other slots in the set (every update copies the
 * set, so its cost grows with the slots) and no readers to wait for (the
 * grace period is SRCU's figure, not these):
 *
 *   memslot_add      add a 16-page slot (allocating and zeroing its frames)
 *   memslot_del      delete it (freeing them)
 *   memslot_move     move a 16-page slot elsewhere
 *   memslot_split    split a 16-page slot in two (frames shared, none copied)
 *   memslot_merge    merge the two halves back
 *
 * No VM is needed: the pair is the bench's own.
 */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/memslot.h>
#include <vigil/mm.h>
#include <vigil/printk.h>

#define MEMSLOT_BENCH_SLOTS 64
#define SLOT_BYTES (16 * PAGE_SIZE)
#define BASE 0x10000000ull

enum which { B_ADD, B_DEL, B_MOVE, B_SPLIT, B_MERGE };

static int update(struct memslot_pair *p, enum memslot_op op, unsigned slot, unsigned slot2, uint64_t gpa,
		  uint64_t size, char *why)
{
	struct memslot_txn t = { .n = 1 };
	t.c[0] = (struct memslot_change){ .op = op, .slot = slot, .slot2 = slot2, .gpa = gpa, .size = size };
	return memslot_pair_update(p, &t, NULL, why, WHY_MAX);
}

static unsigned run(enum which w, uint64_t *samples, unsigned max)
{
	char why[WHY_MAX];
	struct memslot_pair *p = kzalloc(sizeof(*p));
	if (!p || memslot_pair_init(p, MEMSLOT_GPA_BITS_MIN, why, sizeof(why))) {
		kfree(p);
		printk("bench memslot: out of memory\n");
		return 0;
	}
	unsigned n = 0;
	/* Slot ids 0..SLOTS-1: the background; SLOTS: the one measured. */
	for (unsigned i = 0; i < MEMSLOT_BENCH_SLOTS; i++)
		if (update(p, MEMSLOT_ADD, 0, 0, BASE + i * 2 * PAGE_SIZE, PAGE_SIZE, why))
			goto out;
	const unsigned id = MEMSLOT_BENCH_SLOTS, half = MEMSLOT_BENCH_SLOTS + 1;
	const uint64_t at = 0x1000000, away = 0x2000000;
	if (w >= B_MOVE && update(p, MEMSLOT_ADD, 0, 0, at, SLOT_BYTES, why))
		goto out;
	while (n < max) {
		uint64_t t0 = 0, t1 = 0;
		int r = 0;
		switch (w) {
		case B_ADD:
		case B_DEL:
			if (w == B_ADD)
				t0 = arch_time_ns();
			r = update(p, MEMSLOT_ADD, 0, 0, at, SLOT_BYTES, why);
			if (w == B_ADD)
				t1 = arch_time_ns();
			else
				t0 = arch_time_ns();
			r = r ? r : update(p, MEMSLOT_DEL, id, 0, 0, 0, why);
			if (w == B_DEL)
				t1 = arch_time_ns();
			break;
		case B_MOVE:
			t0 = arch_time_ns();
			r = update(p, MEMSLOT_MOVE, id, 0, n & 1 ? at : away, 0, why);
			t1 = arch_time_ns();
			break;
		case B_SPLIT:
		case B_MERGE:
			if (w == B_SPLIT)
				t0 = arch_time_ns();
			r = update(p, MEMSLOT_SPLIT, id, 0, at + SLOT_BYTES / 2, 0, why);
			if (w == B_SPLIT)
				t1 = arch_time_ns();
			else
				t0 = arch_time_ns();
			r = r ? r : update(p, MEMSLOT_MERGE, id, half, 0, 0, why);
			if (w == B_MERGE)
				t1 = arch_time_ns();
			break;
		}
		if (r)
			goto out;
		samples[n++] = t1 - t0;
	}
out:
	if (n < max)
		printk("bench memslot: %s\n", why);
	memslot_pair_destroy(p);
	kfree(p);
	return n;
}

static unsigned bench_add(uint64_t *s, unsigned max) { return run(B_ADD, s, max); }
static unsigned bench_del(uint64_t *s, unsigned max) { return run(B_DEL, s, max); }
static unsigned bench_move(uint64_t *s, unsigned max) { return run(B_MOVE, s, max); }
static unsigned bench_split(uint64_t *s, unsigned max) { return run(B_SPLIT, s, max); }
static unsigned bench_merge(uint64_t *s, unsigned max) { return run(B_MERGE, s, max); }
BENCH(memslot_add, "ns", bench_add);
BENCH(memslot_del, "ns", bench_del);
BENCH(memslot_move, "ns", bench_move);
BENCH(memslot_split, "ns", bench_split);
BENCH(memslot_merge, "ns", bench_merge);

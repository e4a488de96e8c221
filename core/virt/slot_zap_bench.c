/*
 * Benchmarks of slot changes under running vCPUs (`bench`,
 * include/vigil/bench.h): a live VM of two vCPUs of the pattern guest, each
 * sample one whole vm_slot_update() in ns of arch_time_ns() -- apply, swap,
 * zap the nested page tables, request a TLB flush from every vCPU and wait
 * until each is out of its guest, the SRCU grace period, the frames
 * released (docs/design.md, "Guest memory on demand"):
 *
 *   slot_live_move     move a 16-page slot the guest does not touch
 *   slot_live_split    split slot 0 inside vCPU 0's pattern area, which the
 *                      guest writes and checks all the time (then merge it
 *                      back, not timed)
 *
 * Without virtualization (no VM can be made) the benches take no sample.
 */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/memslot.h>
#include <vigil/printk.h>
#include <vigil/vcpu.h>

#define LIVE_VCPUS 2
#define MOVED_AT 0x1000000ull
#define MOVED_AWAY 0x2000000ull
#define MOVED_BYTES (16 * PAGE_SIZE)
#define SPLIT_AT 0x24000ull        /* inside vCPU 0's pattern area (asm/vexit.h's layout) */

static int update1(unsigned vm, struct memslot_change c, char *why)
{
	struct memslot_txn t = { .n = 1 };
	t.c[0] = c;
	return vm_slot_update(vm, &t, NULL, why, WHY_MAX);
}

static unsigned run(bool split, uint64_t *samples, unsigned max)
{
	char why[WHY_MAX] = "";
	unsigned vm, n = 0;
	if (vm_create_live(&vm, LIVE_VCPUS, 0, why, sizeof(why))) {
		printk("bench slot_live: no VM: %s\n", why);
		return 0;
	}
	struct memslot_txn_result res;
	struct memslot_txn add = { .n = 1 };
	add.c[0] = (struct memslot_change){ .op = MEMSLOT_ADD, .gpa = MOVED_AT, .size = MOVED_BYTES };
	if (vm_slot_update(vm, &add, &res, why, sizeof(why)) || vm_start(vm, why, sizeof(why)))
		goto out;
	/* The added slot's id: the only one besides slot 0. */
	unsigned moved = 1;
	while (n < max) {
		int r;
		uint64_t t0 = arch_time_ns();
		if (split) {
			r = update1(vm, (struct memslot_change){ .op = MEMSLOT_SPLIT, .slot = 0, .gpa = SPLIT_AT }, why);
			uint64_t t1 = arch_time_ns();
			/* The split-off half gets the next free id: 2. */
			r = r ? r : update1(vm, (struct memslot_change){ .op = MEMSLOT_MERGE, .slot = 0, .slot2 = 2 }, why);
			samples[n] = t1 - t0;
		} else {
			r = update1(vm, (struct memslot_change){ .op = MEMSLOT_MOVE, .slot = moved,
							       .gpa = n & 1 ? MOVED_AT : MOVED_AWAY }, why);
			samples[n] = arch_time_ns() - t0;
		}
		if (r)
			goto out;
		n++;
	}
out:
	if (n < max)
		printk("bench slot_live: %s\n", why);
	char w2[WHY_MAX];
	vm_stop(vm, w2, sizeof(w2));
	vm_destroy(vm, w2, sizeof(w2));
	return n;
}

static unsigned bench_move(uint64_t *s, unsigned max) { return run(false, s, max); }
static unsigned bench_split(uint64_t *s, unsigned max) { return run(true, s, max); }
BENCH(slot_live_move, "ns", bench_move);
BENCH(slot_live_split, "ns", bench_split);

/*
 * A stream of in-place slot changes under a running guest, in the kernel so
 * that a test reaches thousands of updates in seconds (the console's round
 * trip under emulation costs more than an update): `vm slot churn`, and the
 * live split benches.  Each round, on slot `slot` (the region the guest
 * touches):
 *     split it in the middle, merge the halves back,
 *     grow it by one page, shrink it back,
 * and, when move_slot is given, move that slot one page up and back.  Every
 * one of these deletes a range that an add overlaps: with atomic updates
 * each inhibits entries (docs/design.md, "Atomic slot updates"), and the
 * guest never finds its memory missing.
 */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/cpu.h>
#include <vigil/memslot.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>
#include <vigil/vm_gate.h>
#include "virt_internal.h"

struct find {
	unsigned id;
	uint64_t gpa, size;
	bool found;
};

static void find_one(const struct memslot *s, void *arg)
{
	struct find *f = arg;
	if (s->id == f->id) {
		f->gpa = s->gpa;
		f->size = s->size;
		f->found = true;
	}
}

static int lookup(unsigned vm_id, unsigned id, struct find *f, char *why, size_t len)
{
	*f = (struct find){ .id = id };
	int r = vm_slot_for_each(vm_id, find_one, f, why, len);
	if (r)
		return r;
	if (!f->found)
		return why_fail(why, len, WHY_OTHER, "no slot %u in VM %u (try 'vm slot list %u')", id, vm_id, vm_id);
	return 0;
}

static int one(unsigned vm_id, struct memslot_change c, struct memslot_txn_result *res, uint64_t *ns, char *why,
	       size_t len)
{
	struct memslot_txn txn = { .n = 1 };
	txn.c[0] = c;
	uint64_t t0 = arch_time_ns();
	int r = vm_slot_update(vm_id, &txn, res, why, len);
	if (ns)
		*ns = arch_time_ns() - t0;
	return r;
}

int vm_slot_churn(unsigned vm_id, unsigned slot, unsigned rounds, int move_slot, struct vm_slot_churn_stats *st,
		  char *why, size_t len)
{
	*st = (struct vm_slot_churn_stats){ 0 };
	struct find d, m = { 0 };
	int r = lookup(vm_id, slot, &d, why, len);
	if (r)
		return r;
	if (d.size < 2 * PAGE_SIZE)
		return why_fail(why, len, WHY_OTHER, "slot %u is one page: nothing to split", slot);
	if (move_slot >= 0 && (r = lookup(vm_id, (unsigned)move_slot, &m, why, len)))
		return r;
	uint64_t mid = d.gpa + ((d.size / 2) & ~(uint64_t)(PAGE_SIZE - 1));
	for (unsigned k = 0; k < rounds; k++) {
		struct memslot_txn_result res;
		uint64_t ns;
		r = one(vm_id, (struct memslot_change){ .op = MEMSLOT_SPLIT, .slot = slot, .gpa = mid }, &res, &ns, why,
			len);
		if (r)
			return r;
		if (st->splits < VM_SLOT_CHURN_SAMPLES)
			st->split_ns[st->splits] = ns;
		st->splits++;
		unsigned upper = memslot_txn_other_added(&res, slot);
		r = one(vm_id, (struct memslot_change){ .op = MEMSLOT_MERGE, .slot = slot, .slot2 = upper }, NULL, NULL,
			why, len);
		if (!r)
			r = one(vm_id, (struct memslot_change){ .op = MEMSLOT_RESIZE, .slot = slot, .size = d.size + PAGE_SIZE },
				NULL, NULL, why, len);
		if (!r)
			r = one(vm_id, (struct memslot_change){ .op = MEMSLOT_RESIZE, .slot = slot, .size = d.size }, NULL,
				NULL, why, len);
		if (!r && move_slot >= 0) {
			unsigned ms = (unsigned)move_slot;
			r = one(vm_id, (struct memslot_change){ .op = MEMSLOT_MOVE, .slot = ms, .gpa = m.gpa + PAGE_SIZE },
				NULL, NULL, why, len);
			if (!r)
				r = one(vm_id, (struct memslot_change){ .op = MEMSLOT_MOVE, .slot = ms, .gpa = m.gpa }, NULL,
					NULL, why, len);
			st->updates += 2;
		}
		if (r)
			return r;
		st->updates += 4;
	}
	return 0;
}

/* ---- benches: an atomic split under 1, 2 and 4 running vCPUs ----
 *
 * A live VM of the pattern guest with its vCPUs' areas alone in slot 1 (as
 * the slot_atomic scenario builds it); each sample is one split of that
 * slot in the middle (merged back between samples): the close of the gate,
 * the kicks, the wait for every vCPU to leave, the publish, the zap and
 * flush, the grace period, the open.  Skipped (no samples) when the
 * machine has fewer CPUs than vCPUs. */

struct entered {
	unsigned id;
	uint64_t min;
};

static void least_entries(const struct vm *vm, void *arg)
{
	struct entered *e = arg;
	if (vm->id != e->id || !vm->vcpus)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		uint64_t n = __atomic_load_n(&vm->vcpus[i]->entries, __ATOMIC_RELAXED);
		if (n < e->min)
			e->min = n;
	}
}

/* Every vCPU of the VM has entered its guest a few times (bounded: 2 s),
 * so that the samples time updates under vCPUs that really run. */
static void wait_running(unsigned id)
{
	for (unsigned t = 0; t < 200; t++) {
		struct entered e = { .id = id, .min = UINT64_MAX };
		vm_for_each(least_entries, &e);
		if (e.min != UINT64_MAX && e.min >= 4)
			return;
		sleep_ns(10000000ULL);
	}
}

int vm_bench_areas_vm(unsigned nr, unsigned *id, unsigned *data, char *why, size_t len)
{
	/* 8 vCPUs' pattern areas do not fit in 256 KiB. */
	uint64_t mem = (nr > 4 ? 512 : 256) * 1024;
	if (nr > nr_possible_cpus)
		return why_fail(why, len, WHY_OTHER, "%u vCPUs on %u CPUs", nr, nr_possible_cpus);
	if (vm_create_live(id, nr, mem, why, len))
		return -1;
	struct memslot_txn txn = { .n = 1 };
	struct memslot_txn_result res;
	txn.c[0] = (struct memslot_change){ .op = MEMSLOT_SPLIT, .slot = 0, .gpa = BENCH_AREAS };
	if (vm_slot_update(*id, &txn, &res, why, len))
		goto fail;
	*data = memslot_txn_other_added(&res, 0);
	txn.c[0] = (struct memslot_change){ .op = MEMSLOT_SPLIT, .slot = *data, .gpa = BENCH_AREAS + nr * BENCH_AREA };
	if (vm_slot_update(*id, &txn, &res, why, len) || vm_start(*id, why, len))
		goto fail;
	wait_running(*id);
	return 0;
fail:;
	char ignored[WHY_MAX];
	vm_destroy(*id, ignored, sizeof(ignored));
	return -1;
}

static unsigned split_live(unsigned nr, uint64_t *samples, unsigned max)
{
	char why[WHY_MAX];
	unsigned id, data, got = 0;
	if (vm_bench_areas_vm(nr, &id, &data, why, sizeof(why)))
		return 0;
	struct memslot_txn txn = { .n = 1 };
	struct memslot_txn_result res;
	uint64_t mid = BENCH_AREAS + nr * BENCH_AREA / 2;
	for (; got < max; got++) {
		txn.c[0] = (struct memslot_change){ .op = MEMSLOT_SPLIT, .slot = data, .gpa = mid };
		uint64_t t0 = arch_time_ns();
		if (vm_slot_update(id, &txn, &res, why, sizeof(why)))
			break;
		samples[got] = arch_time_ns() - t0;
		txn.c[0] = (struct memslot_change){ .op = MEMSLOT_MERGE, .slot = data,
						    .slot2 = memslot_txn_other_added(&res, data) };
		if (vm_slot_update(id, &txn, &res, why, sizeof(why)))
			break;
	}
	vm_stop(id, why, sizeof(why));
	vm_destroy(id, why, sizeof(why));
	return got;
}

static unsigned bench_split_1(uint64_t *s, unsigned max) { return split_live(1, s, max); }
static unsigned bench_split_2(uint64_t *s, unsigned max) { return split_live(2, s, max); }
static unsigned bench_split_4(uint64_t *s, unsigned max) { return split_live(4, s, max); }
static unsigned bench_split_8(uint64_t *s, unsigned max) { return split_live(8, s, max); }
BENCH(memslot_split_live_1, "ns", bench_split_1);
BENCH(memslot_split_live_2, "ns", bench_split_2);
BENCH(memslot_split_live_4, "ns", bench_split_4);
BENCH(memslot_split_live_8, "ns", bench_split_8);

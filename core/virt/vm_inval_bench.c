/*
 * Benches of host invalidation on a live VM (docs/invalidation.md,
 * "Figures"): the pattern guest on 2 vCPUs writes and checks its areas,
 * which are alone in one slot, while the memory churn (vm_mem_churn.c)
 * migrates and reclaims random ranges of them from 2 host tasks.
 *
 *   vm_inval_live_rate         invalidations per second, per window
 *   vm_inval_live_retries      nested page faults retried per 1000
 *                              invalidations, per window
 *   vm_inval_live_swap         one slot split (a swap that must wait for
 *                              open invalidations) under the churn: its
 *                              latency, so the median and the max show
 *                              what the unfair wait costs a swapper
 *   vm_inval_live_write        the guest's write throughput while ranges
 *                              migrate (migrations only), KiB/s per window
 *   vm_inval_live_write_ratio  the same window's throughput against one
 *                              without churn just before it, in permille
 *   vm_inval_live_write_ratio_1ms  the same with each churn task pausing
 *                              1 ms between invalidations (a steady stream
 *                              rather than a flood)
 *
 * The churn tasks do not pause (but for _1ms): each invalidation flushes
 * every vCPU out of the guest, so this is the worst case for the guest.
 * Windows are emulated time; figures are printed, never asserted.
 */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/cpu.h>
#include <vigil/memslot.h>
#include <vigil/mmu_invalidate.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>
#include "virt_internal.h"

#define VCPUS 2
#define WINDOW_NS 50000000ULL      /* 50 ms of emulated time per sample */

struct probe {
	unsigned id;
	uint64_t progress, retries;
};

static void look(const struct vm *vm, void *arg)
{
	struct probe *p = arg;
	if (vm->id != p->id || !vm->vcpus)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		p->progress += __atomic_load_n(&vm->vcpus[i]->run.progress, __ATOMIC_RELAXED);
	struct mmu_invalidate_snapshot s;
	mmu_invalidate_snapshot(vm_mmu_invalidate((struct vm *)vm), &s);
	p->retries = s.st.retries;
}

static struct probe probe(unsigned id)
{
	struct probe p = { .id = id };
	vm_for_each(look, &p);
	return p;
}

static void teardown(unsigned id)
{
	char why[WHY_MAX];
	vm_stop(id, why, sizeof(why));
	vm_destroy(id, why, sizeof(why));
}

static int churn_begin(unsigned id, unsigned reclaim_pct, uint64_t gap_ns, char *why, size_t len)
{
	struct vm_mem_churn_cfg cfg = { .vm = id, .tasks = 2, .gpa = BENCH_AREAS, .size = VCPUS * BENCH_AREA,
					.max_pages = 4, .reclaim_pct = reclaim_pct, .nest_pct = 20,
					.gap_ns = gap_ns, .seed = 7 };
	return vm_mem_churn_begin(&cfg, why, len);
}

static void churn_end(unsigned id)
{
	char why[WHY_MAX];
	struct vm_mem_churn_stats st;
	vm_mem_churn_end(id, &st, why, sizeof(why));
}

enum what { RATE, RETRIES, SWAP, WRITE, WRITE_RATIO, WRITE_RATIO_1MS };

static unsigned run(enum what w, uint64_t *samples, unsigned max)
{
	char why[WHY_MAX];
	unsigned id, data, got = 0;
	if (vm_bench_areas_vm(VCPUS, &id, &data, why, sizeof(why)))
		return 0;
	if (w == WRITE_RATIO || w == WRITE_RATIO_1MS) {
		/* Alternate: a window without churn, then one with it. */
		for (; got < max && got < 16; got++) {
			struct probe a = probe(id);
			sleep_ns(WINDOW_NS);
			struct probe b = probe(id);
			if (churn_begin(id, 0, w == WRITE_RATIO ? 0 : 1000000, why, sizeof(why)))
				break;
			struct probe c = probe(id);
			sleep_ns(WINDOW_NS);
			struct probe d = probe(id);
			churn_end(id);
			uint64_t base = b.progress - a.progress;
			samples[got] = base ? (d.progress - c.progress) * 1000 / base : 0;
		}
		teardown(id);
		return got;
	}
	if (churn_begin(id, w == WRITE ? 0 : 30, 0, why, sizeof(why))) {
		teardown(id);
		return 0;
	}
	for (; got < max && got < 16; got++) {
		if (w == SWAP) {
			struct memslot_txn txn = { .n = 1 };
			struct memslot_txn_result res;
			txn.c[0] = (struct memslot_change){ .op = MEMSLOT_SPLIT, .slot = data, .gpa = BENCH_AREAS + BENCH_AREA };
			uint64_t t0 = arch_time_ns();
			if (vm_slot_update(id, &txn, &res, why, sizeof(why)))
				break;
			samples[got] = arch_time_ns() - t0;
			txn.c[0] = (struct memslot_change){ .op = MEMSLOT_MERGE, .slot = data,
							    .slot2 = memslot_txn_other_added(&res, data) };
			if (vm_slot_update(id, &txn, &res, why, sizeof(why)))
				break;
			continue;
		}
		uint64_t n0 = vm_mem_churn_count(), t0 = arch_time_ns();
		struct probe a = probe(id);
		sleep_ns(WINDOW_NS);
		uint64_t n1 = vm_mem_churn_count(), ns = arch_time_ns() - t0;
		struct probe b = probe(id);
		if (w == RATE)
			samples[got] = ns ? (n1 - n0) * 1000000000ull / ns : 0;
		else if (w == RETRIES)
			samples[got] = n1 > n0 ? (b.retries - a.retries) * 1000 / (n1 - n0) : 0;
		else  /* WRITE: passes over a 16 KiB area each */
			samples[got] = ns ? (b.progress - a.progress) * (BENCH_AREA / 1024) * 1000000000ull / ns : 0;
	}
	churn_end(id);
	teardown(id);
	return got;
}

static unsigned bench_rate(uint64_t *s, unsigned max) { return run(RATE, s, max); }
static unsigned bench_retries(uint64_t *s, unsigned max) { return run(RETRIES, s, max); }
static unsigned bench_swap(uint64_t *s, unsigned max) { return run(SWAP, s, max); }
static unsigned bench_write(uint64_t *s, unsigned max) { return run(WRITE, s, max); }
static unsigned bench_write_ratio(uint64_t *s, unsigned max) { return run(WRITE_RATIO, s, max); }
static unsigned bench_write_ratio_1ms(uint64_t *s, unsigned max) { return run(WRITE_RATIO_1MS, s, max); }
BENCH(vm_inval_live_rate, "inval/s", bench_rate);
BENCH(vm_inval_live_retries, "retries/kinval", bench_retries);
BENCH(vm_inval_live_swap, "ns", bench_swap);
BENCH(vm_inval_live_write, "KiB/s", bench_write);
BENCH(vm_inval_live_write_ratio, "permille", bench_write_ratio);
BENCH(vm_inval_live_write_ratio_1ms, "permille", bench_write_ratio_1ms);

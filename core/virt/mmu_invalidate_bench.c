/*
 * Benchmarks of the invalidation protocol on real CPUs, with the fake VM of
 * core/virt/mmu_inval_fakevm.c in the design memslot_inval= selects (the
 * rwsem design only without nesting, which is all the load does):
 *
 *  memslot_inval_start_end      ns per start/end pair of a range that hits
 *                               guest memory, one task, nothing contended
 *  memslot_inval_rate           invalidations per second, one load task per
 *                               other online CPU (up to 3) migrating random
 *                               ranges back to back
 *  memslot_inval_swap_latency   us per slot swap while that load runs: the
 *                               median and the max show how long the unfair
 *                               swap waits for a moment with no invalidation
 *                               open (a swap still waiting after 2 s is
 *                               aborted and counted at its elapsed time)
 *  memslot_inval_fault          ns per fault, no invalidation: never retries
 *  memslot_inval_fault_retry    ns per fault of random gfns under the load
 *  memslot_inval_max_retries    the most retries of one fault among 256,
 *                               under the load (retries, per sample)
 *
 * Figures only; nothing here asserts a time.
 */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/cpu.h>
#include <vigil/printk.h>
#include <vigil/task.h>

#include "mmu_inval_fakevm.h"

#define LOAD_MAX 3
#define SWAP_GIVE_UP_NS 2000000000ULL

static struct fakevm bvm;

struct load {
	struct fakevm *vm;
	int stop;
	int abort_swap;              /* set by the watchdog for a swap stuck too long */
	unsigned n;
	struct task *t[LOAD_MAX + 1];
	uint64_t seed[LOAD_MAX];
	uint64_t done[LOAD_MAX];     /* invalidations per task (its own counter) */
};

static struct load load;

static void load_fn(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	while (!__atomic_load_n(&load.stop, __ATOMIC_ACQUIRE)) {
		uint64_t s, e;
		fakevm_rand_range(&load.seed[i], 16, &s, &e);
		fakevm_migrate(load.vm, s, e, 0, 0);
		__atomic_store_n(&load.done[i], load.done[i] + 1, __ATOMIC_RELAXED);
	}
}

/* Gives up a swap that has waited SWAP_GIVE_UP_NS: the load may leave no
 * gap at all, and a bench must end. */
static void watchdog_fn(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&load.stop, __ATOMIC_ACQUIRE)) {
		struct mmu_invalidate_snapshot s;
		mmu_invalidate_snapshot(&load.vm->mi, &s);
		if (s.swap_waiting && s.swap_waiting_ns > SWAP_GIVE_UP_NS) {
			__atomic_store_n(&load.abort_swap, 1, __ATOMIC_RELEASE);
			mmu_invalidate_swap_kick(&load.vm->mi);
		}
		sleep_ns(10000000);
	}
}

static void vm_setup(void)
{
	fakevm_init(&bvm, mmu_invalidate_boot_mode(), "bench");
}

static void load_start(bool watchdog)
{
	unsigned self = smp_processor_id();

	load.vm = &bvm;
	load.stop = 0;
	load.abort_swap = 0;
	load.n = 0;
	for (unsigned c = 0; c < nr_possible_cpus && load.n < LOAD_MAX; c++) {
		if (c == self || !cpu_is_online(c))
			continue;
		load.seed[load.n] = 0x9e3779b97f4a7c15ull * (c + 1);
		load.done[load.n] = 0;
		load.t[load.n] = kthread_run(load_fn, (void *)(uintptr_t)load.n, (int)c, "inval_load");
		if (load.t[load.n])
			load.n++;
	}
	load.t[LOAD_MAX] = watchdog ? kthread_run(watchdog_fn, NULL, TASK_ANY_CPU, "inval_watchdog") : NULL;
}

static uint64_t load_done(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < load.n; i++)
		n += __atomic_load_n(&load.done[i], __ATOMIC_RELAXED);
	return n;
}

static void load_stop(void)
{
	__atomic_store_n(&load.stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < load.n; i++)
		kthread_join(load.t[i]);
	if (load.t[LOAD_MAX])
		kthread_join(load.t[LOAD_MAX]);
	load.n = 0;
}

static unsigned bench_start_end(uint64_t *samples, unsigned max)
{
	vm_setup();
	for (unsigned i = 0; i < max; i++) {
		uint64_t t0 = arch_time_ns();
		for (unsigned k = 0; k < 1000; k++) {
			struct mmu_inval_range r = { .gfn_start = 8, .gfn_end = 16 };
			mmu_invalidate_range_start(&bvm.mi, &r);
			mmu_invalidate_range_end(&bvm.mi, &r);
		}
		samples[i] = (arch_time_ns() - t0) / 1000;
	}
	return max;
}
BENCH(memslot_inval_start_end, "ns", bench_start_end);

static unsigned bench_rate(uint64_t *samples, unsigned max)
{
	unsigned n = max < 16 ? max : 16;

	vm_setup();
	load_start(false);
	if (!load.n) {
		load_stop();
		printk("bench: memslot_inval_rate: needs a second online CPU\n");
		return 0;
	}
	uint64_t all0 = load_done(), start = arch_time_ns();
	for (unsigned i = 0; i < n; i++) {
		uint64_t c0 = load_done(), t0 = arch_time_ns();
		sleep_ns(100000000);
		uint64_t dc = load_done() - c0, dt = arch_time_ns() - t0;
		samples[i] = dt ? dc * 1000000000ULL / dt : 0;
	}
	/* The whole run's rate too: under emulation the load progresses in
	 * bursts (a vCPU holding a ticket lock descheduled by the host stalls
	 * the others), so windows differ wildly. */
	uint64_t all = load_done() - all0, el = arch_time_ns() - start;
	printk("bench: memslot_inval_rate: load_tasks=%u invalidations=%lu overall=%lu/s\n", load.n,
	       (unsigned long)all, (unsigned long)(el ? all * 1000000000ULL / el : 0));
	load_stop();
	return n;
}
BENCH(memslot_inval_rate, "inval/s", bench_rate);

static unsigned bench_swap_latency(uint64_t *samples, unsigned max)
{
	unsigned n = max < 16 ? max : 16, aborted = 0;  /* a sample may take 2 s */

	vm_setup();
	load_start(true);
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = arch_time_ns();
		__atomic_store_n(&load.abort_swap, 0, __ATOMIC_RELEASE);
		if (fakevm_swap(&bvm, &load.abort_swap))
			aborted++;
		samples[i] = (arch_time_ns() - t0) / 1000;
		sleep_ns(1000000);
	}
	uint64_t inval = bvm.mi.st.starts;
	unsigned tasks = load.n;
	load_stop();
	printk("bench: memslot_inval_swap_latency: design=%s load_tasks=%u invalidations=%lu swaps=%u aborted=%u\n",
	       mmu_inval_mode_name(bvm.mi.mode), tasks, (unsigned long)inval, n - aborted, aborted);
	return n;
}
BENCH(memslot_inval_swap_latency, "us", bench_swap_latency);

static unsigned bench_fault(uint64_t *samples, unsigned max)
{
	vm_setup();
	for (unsigned i = 0; i < max; i++) {
		uint64_t t0 = arch_time_ns();
		for (unsigned k = 0; k < 1000; k++)
			fakevm_fault(&bvm, k % 64);
		samples[i] = (arch_time_ns() - t0) / 1000;
	}
	return max;
}
BENCH(memslot_inval_fault, "ns", bench_fault);

static unsigned bench_fault_retry(uint64_t *samples, unsigned max)
{
	unsigned n = max < 32 ? max : 32;
	uint64_t seed = 12345;

	vm_setup();
	load_start(false);
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = arch_time_ns();
		for (unsigned k = 0; k < 100; k++)
			fakevm_fault(&bvm, fakevm_rand(&seed) % 64);
		samples[i] = (arch_time_ns() - t0) / 100;
	}
	load_stop();
	uint64_t inval = bvm.mi.st.starts, retries = bvm.mi.st.retries;
	printk("bench: memslot_inval_fault_retry: faults=%lu retries=%lu invalidations=%lu "
	       "retries_per_1000_invalidations=%lu\n",
	       (unsigned long)bvm.mi.st.faults, (unsigned long)retries, (unsigned long)inval,
	       (unsigned long)(inval ? retries * 1000 / inval : 0));
	return n;
}
BENCH(memslot_inval_fault_retry, "ns", bench_fault_retry);

static unsigned bench_max_retries(uint64_t *samples, unsigned max)
{
	unsigned n = max < 16 ? max : 16;
	uint64_t seed = 777;

	vm_setup();
	load_start(false);
	for (unsigned i = 0; i < n; i++) {
		unsigned most = 0;
		for (unsigned k = 0; k < 256; k++) {
			unsigned r = fakevm_fault(&bvm, fakevm_rand(&seed) % 64);
			if (r > most)
				most = r;
		}
		samples[i] = most;
	}
	load_stop();
	return n;
}
BENCH(memslot_inval_max_retries, "retries", bench_max_retries);

/*
 * SRCU grace-period benches (ns per synchronize_srcu call):
 *
 *   srcu_gp                      idle domain, normal grace period
 *   srcu_gp_expedited            idle domain, expedited
 *   srcu_gp_readers              a reader task on every other online CPU
 *                                looping over short read sections (~2 us
 *                                each), normal grace period
 *   srcu_gp_expedited_readers    the same, expedited
 *
 * With readers, a grace period waits for the sections in flight on both
 * slots: the normal one sleeps until the last reader's unlock wakes it (a
 * wake-up IPI and a context switch), the expedited one polls and usually
 * catches the unlock without sleeping.  Figures, not assertions.
 *
 * Under QEMU TCG the reader figures measure the host more than SRCU: the
 * readers never idle, so with more vCPUs than host cores a reader's vCPU
 * is often descheduled by the host in the middle of a section, and the
 * grace period waits for the host to run it again (milliseconds).  Bochs,
 * which runs its CPUs in one thread, gives the figures of the algorithm.
 */
#include <vigil/arch.h>
#include <vigil/atomic.h>
#include <vigil/bench.h>
#include <vigil/cpu.h>
#include <vigil/sched.h>
#include <vigil/srcu.h>
#include <vigil/task.h>

#define BENCH_READER_SECTION_NS 2000ULL
#define BENCH_MAX_READERS 16

static DEFINE_SRCU(bench_srcu);
static int bench_stop;
static int bench_readers_in;
static unsigned long bench_sections;

static unsigned gp_samples(uint64_t *samples, unsigned max, bool expedited)
{
	/* One unmeasured round: the first grace period raises the domain's
	 * CPU bound and warms the lines. */
	synchronize_srcu(&bench_srcu);
	for (unsigned i = 0; i < max; i++) {
		uint64_t t0 = arch_time_ns();
		if (expedited)
			synchronize_srcu_expedited(&bench_srcu);
		else
			synchronize_srcu(&bench_srcu);
		samples[i] = arch_time_ns() - t0;
	}
	return max;
}

static unsigned bench_gp(uint64_t *samples, unsigned max)
{
	return gp_samples(samples, max, false);
}

static unsigned bench_gp_expedited(uint64_t *samples, unsigned max)
{
	return gp_samples(samples, max, true);
}

static void bench_reader(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&bench_readers_in, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&bench_stop, __ATOMIC_ACQUIRE)) {
		int idx = srcu_read_lock(&bench_srcu);
		uint64_t until = arch_time_ns() + BENCH_READER_SECTION_NS;
		while (arch_time_ns() < until)
			cpu_relax();
		srcu_read_unlock(&bench_srcu, idx);
		__atomic_add_fetch(&bench_sections, 1, __ATOMIC_RELAXED);
	}
}

static unsigned readers_samples(uint64_t *samples, unsigned max, bool expedited)
{
	struct task *t[BENCH_MAX_READERS];
	unsigned self = smp_processor_id(), nr = 0;

	__atomic_store_n(&bench_stop, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&bench_readers_in, 0, __ATOMIC_SEQ_CST);
	for (unsigned c = 0; c < nr_possible_cpus && nr < BENCH_MAX_READERS; c++) {
		if (c == self || !cpu_is_online(c))
			continue;
		t[nr] = kthread_run(bench_reader, NULL, (int)c, "bench-srcu-reader");
		if (!t[nr])
			break;
		nr++;
	}
	unsigned n = 0;
	if (nr) {
		int old = sched_pin_current(self);   /* stay off the readers' CPUs */
		while (__atomic_load_n(&bench_readers_in, __ATOMIC_ACQUIRE) < (int)nr)
			sleep_ns(1000000);
		n = gp_samples(samples, max, expedited);
		sched_bind_current(old);
	}
	__atomic_store_n(&bench_stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < nr; i++)
		kthread_join(t[i]);
	return n;   /* 0 (skipped) with one CPU */
}

static unsigned bench_gp_readers(uint64_t *samples, unsigned max)
{
	return readers_samples(samples, max, false);
}

static unsigned bench_gp_expedited_readers(uint64_t *samples, unsigned max)
{
	return readers_samples(samples, max, true);
}

BENCH(srcu_gp, "ns", bench_gp);
BENCH(srcu_gp_expedited, "ns", bench_gp_expedited);
BENCH(srcu_gp_readers, "ns", bench_gp_readers);
BENCH(srcu_gp_expedited_readers, "ns", bench_gp_expedited_readers);

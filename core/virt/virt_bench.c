/*
 * Benchmarks of the virtualization usage core (`bench`, include/vigil/bench.h):
 *
 *   virt_enable      one CPU's enable as the 0 -> 1 fan-out runs it there
 *                    (compatibility snapshot and check, the backend's enable,
 *                    the per-CPU flag), on the current CPU, interrupts off;
 *   virt_disable     the matching disable;
 *   virt_compat      the compatibility snapshot and check alone, the part of
 *                    virt_enable that reads CPUID and the capability MSRs
 *                    (so virt_enable minus virt_compat is the backend's own
 *                    enable);
 *   virt_fanout      virt_get()'s 0 -> 1 transition: enable on every online
 *                    CPU (cross-CPU calls, all or nothing);
 *   virt_fanout_put  virt_put()'s 1 -> 0 transition: disable on every one.
 *
 * Each sample is one operation, in ns of arch_time_ns().  All but
 * virt_compat measure the transition the count makes from 0, so they refuse (no samples, which
 * `bench` prints as skipped=1, with the reason in the log) while
 * virtualization is in use: disabling a CPU under a user would break it.
 * They also refuse while an enable fault is armed (`inject
 * virt_enable_fail`), which they would otherwise consume.  Each leaves every
 * CPU as it found it: off.
 */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/inject.h>
#include <vigil/mutex.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/virt.h>
#include "virt_internal.h"

INJECT_DECLARE(virt_enable_fail);

/* Per-sample cost is small and the emulators' clocks are coarse next to
 * it; many samples let the median settle.  The fan-out touches every CPU:
 * fewer. */
#define PER_CPU_SAMPLES BENCH_MAX_SAMPLES
#define FANOUT_SAMPLES 32

/* Why the bench cannot run now, or NULL.  The count is read under the
 * count lock by the per-CPU benches (stable) and without it by the fan-out
 * ones (they re-check after each virt_get). */
static const char *refusal(void)
{
	if (!virt_ops_current())
		return "virtualization is unavailable";
	if (virt_usage_count() != 0)
		return "virtualization is in use (usage count > 0); the bench would disable CPUs under their users";
	if (__atomic_load_n(&inject_virt_enable_fail.armed, __ATOMIC_ACQUIRE))
		return "an enable fault is armed (inject virt_enable_fail); the bench would consume it";
	return NULL;
}

static unsigned per_cpu(const char *name, uint64_t *samples, unsigned max, bool time_disable)
{
	unsigned n = 0;
	char why[WHY_MAX];

	if (max > PER_CPU_SAMPLES)
		max = PER_CPU_SAMPLES;
	/* What virt_get holds around a transition: the online set and the count
	 * cannot change, so no enable of anyone else's can meet ours. */
	cpus_read_lock();
	struct mutex *lock = virt_count_lock();
	mutex_lock(lock);
	const char *no = refusal();
	preempt_disable();
	unsigned cpu = smp_processor_id();
	if (!no && virt_cpu_enabled(cpu))
		no = "virtualization is on on this CPU with a usage count of 0";
	if (no)
		printk("bench: %s: refused: %s\n", name, no);
	/* Round 0 warms up (first touch of the per-CPU region, caches). */
	for (unsigned round = 0; !no && n < max; round++) {
		unsigned long flags = arch_irq_save();
		uint64_t t0 = arch_time_ns();
		int r = virt_enable_this_cpu(why, sizeof(why));
		uint64_t t1 = arch_time_ns();
		if (r == 0)
			virt_disable_this_cpu();
		uint64_t t2 = arch_time_ns();
		arch_irq_restore(flags);
		if (r != 0) {
			printk("bench: %s: enabling CPU %u failed: %s\n", name, cpu, why);
			break;
		}
		if (round > 0)
			samples[n++] = time_disable ? t2 - t1 : t1 - t0;
	}
	preempt_enable();
	mutex_unlock(lock);
	cpus_read_unlock();
	return n;
}

static unsigned bench_virt_enable(uint64_t *samples, unsigned max)
{
	return per_cpu("virt_enable", samples, max, false);
}
BENCH(virt_enable, "ns", bench_virt_enable);

static unsigned bench_virt_disable(uint64_t *samples, unsigned max)
{
	return per_cpu("virt_disable", samples, max, true);
}
BENCH(virt_disable, "ns", bench_virt_disable);

/* Changes nothing but virt_cpus[cpu].compat, to what it already says;
 * under the count lock, where the enable paths write it too. */
static unsigned bench_virt_compat(uint64_t *samples, unsigned max)
{
	unsigned n = 0;
	char why[WHY_MAX];

	if (!virt_ops_current()) {
		printk("bench: virt_compat: refused: virtualization is unavailable\n");
		return 0;
	}
	if (max > PER_CPU_SAMPLES)
		max = PER_CPU_SAMPLES;
	cpus_read_lock();
	struct mutex *lock = virt_count_lock();
	mutex_lock(lock);
	preempt_disable();
	for (unsigned round = 0; n < max; round++) {
		unsigned long flags = arch_irq_save();
		uint64_t t0 = arch_time_ns();
		int r = virt_check_this_cpu(why, sizeof(why));
		uint64_t t1 = arch_time_ns();
		arch_irq_restore(flags);
		if (r != 0) {
			printk("bench: virt_compat: CPU %u is incompatible: %s\n", smp_processor_id(), why);
			break;
		}
		if (round > 0)
			samples[n++] = t1 - t0;
	}
	preempt_enable();
	mutex_unlock(lock);
	cpus_read_unlock();
	return n;
}
BENCH(virt_compat, "ns", bench_virt_compat);

static unsigned fanout(const char *name, uint64_t *samples, unsigned max, bool time_put)
{
	unsigned n = 0;
	char why[WHY_MAX];

	if (max > FANOUT_SAMPLES)
		max = FANOUT_SAMPLES;
	const char *no = refusal();
	if (no)
		printk("bench: %s: refused: %s\n", name, no);
	for (unsigned round = 0; !no && n < max; round++) {
		uint64_t t0 = arch_time_ns();
		int r = virt_get(why, sizeof(why));
		uint64_t t1 = arch_time_ns();
		if (r != 0) {
			printk("bench: %s: virt_get failed: %s\n", name, why);
			break;
		}
		/* Someone else took a reference meanwhile: neither this get nor
		 * the coming put is a transition. */
		bool alone = virt_usage_count() == 1;
		uint64_t t2 = arch_time_ns();
		virt_put();
		uint64_t t3 = arch_time_ns();
		if (!alone) {
			printk("bench: %s: stopped: virtualization came into use meanwhile\n", name);
			break;
		}
		if (round > 0)
			samples[n++] = time_put ? t3 - t2 : t1 - t0;
		if ((no = refusal()))
			printk("bench: %s: stopped: %s\n", name, no);
	}
	return n;
}

static unsigned bench_virt_fanout(uint64_t *samples, unsigned max)
{
	return fanout("virt_fanout", samples, max, false);
}
BENCH(virt_fanout, "ns", bench_virt_fanout);

static unsigned bench_virt_fanout_put(uint64_t *samples, unsigned max)
{
	return fanout("virt_fanout_put", samples, max, true);
}
BENCH(virt_fanout_put, "ns", bench_virt_fanout_put);

/* Machine-level invariants behind `check` (see include/vigil/check.h). */
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/time.h>
#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/cpu.h>
#include <vigil/smp.h>
#include <vigil/mm.h>
#include <vigil/string.h>
#include <vigil/sched.h>
#include <asm/percpu.h>

/* Every online CPU's periodic LAPIC timer must be delivering interrupts:
 * each CPU's own tick count moves while we watch.  The bound is real time,
 * and generous: under an emulator on a loaded host a vCPU thread can be
 * descheduled for a long stretch while the CPU running the check goes on
 * (100 ms is not enough on a busy 2-core host during `stress`).  A dead
 * timer never ticks at all, so patience costs nothing when the answer is
 * right. */
#define TIMER_WATCH_NS 2000000000ULL

static uint64_t ticks_of(unsigned cpu)
{
	return __atomic_load_n(&percpu_of[cpu]->timer_ticks, __ATOMIC_RELAXED);
}

/* The tick counts at the start of a watch: static, since `check` must
 * answer when memory is full; checks run one at a time (core/check.c). */
static uint64_t timer_t0[CONFIG_MAX_CPUS];

static int timer_ticking(char *why, size_t len)
{
	if (!(read_rflags() & X86_RFLAGS_IF)) {
		snprintf(why, len, "interrupts are disabled in the console context");
		return -1;
	}
	uint64_t *t0 = timer_t0;
	memset(t0, 0, sizeof(timer_t0));
	cpus_read_lock();
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		if (cpu_is_online(c))
			t0[c] = ticks_of(c);
	/* All CPUs watched at once: a healthy machine answers in one period. */
	uint64_t start = arch_time_ns();
	int r = 0;
	for (unsigned c = 0; c < nr_possible_cpus && !r; c++) {
		if (!cpu_is_online(c))
			continue;
		while (ticks_of(c) == t0[c] && arch_time_ns() - start < TIMER_WATCH_NS)
			cpu_relax();
		if (ticks_of(c) == t0[c]) {
			snprintf(why, len, "cpu %u: LAPIC timer not ticking (ticks stuck at %lu for %llu ms)", c, t0[c],
				 TIMER_WATCH_NS / 1000000);
			r = -1;
		}
	}
	cpus_read_unlock();
	return r;
}
INVARIANT(timer, timer_ticking);

/* Every online CPU runs with the APIC ID the CPU table records for it, and
 * its per-CPU area says it is that CPU. */
static volatile uint32_t seen_apic[CONFIG_MAX_CPUS];
static volatile unsigned seen_cpu[CONFIG_MAX_CPUS];

static void read_ids(void *arg)
{
	(void)arg;
	unsigned cpu = smp_processor_id();
	seen_apic[cpu] = lapic_id();
	seen_cpu[cpu] = this_cpu()->cpu;
}

static int cpu_ids_sane(char *why, size_t len)
{
	if (nr_possible_cpus < 1 || cpu_table[0].state != CPU_ONLINE) {
		snprintf(why, len, "boot CPU is not online in the CPU table");
		return -1;
	}
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		seen_apic[c] = 0xFFFFFFFF;
	if (on_each_cpu(read_ids, NULL, true) != 0) {
		snprintf(why, len, "could not ask every CPU its APIC ID");
		return -1;
	}
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		if (!cpu_is_online(c))
			continue;
		if (seen_apic[c] != cpu_table[c].apic_id || seen_cpu[c] != c) {
			snprintf(why, len, "cpu %u: table APIC ID %u, running with APIC ID %u as cpu %u", c,
				 cpu_table[c].apic_id, seen_apic[c], seen_cpu[c]);
			return -1;
		}
	}
	return 0;
}
INVARIANT(cpu_ids, cpu_ids_sane);

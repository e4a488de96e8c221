/* Machine-level invariants behind `check` (see include/vigil/check.h). */
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/time.h>
#include <vigil/check.h>
#include <vigil/cpu.h>
#include <vigil/smp.h>
#include <vigil/string.h>
#include <vigil/sched.h>
#include <asm/percpu.h>

/* The periodic LAPIC timer must be delivering interrupts: the tick count
 * moves within a few timer periods while interrupts are enabled. */
static int timer_ticking(char *why, size_t len)
{
	if (!(read_rflags() & X86_RFLAGS_IF)) {
		snprintf(why, len, "interrupts are disabled in the console context");
		return -1;
	}
	/* Emulators deliver timer interrupts late and in bursts: allow up to
	 * 100 periods before calling the timer stuck. */
	uint64_t t0 = __atomic_load_n(&lapic_timer_ticks, __ATOMIC_RELAXED), t1 = t0;
	uint64_t period_us = 1000000 / (lapic_timer_hz ? lapic_timer_hz : 1);
	for (int i = 0; i < 100 && t1 == t0; i++) {
		udelay(period_us);
		t1 = __atomic_load_n(&lapic_timer_ticks, __ATOMIC_RELAXED);
	}
	if (t1 == t0) {
		snprintf(why, len, "LAPIC timer not ticking (ticks stuck at %lu)", t0);
		return -1;
	}
	return 0;
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
	on_each_cpu(read_ids, NULL, true);
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

/* Machine-level invariants behind `check` (see include/vigil/check.h). */
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/time.h>
#include <vigil/check.h>
#include <vigil/cpu.h>
#include <vigil/string.h>

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

/* The CPU we run on is logical CPU 0, online, with the APIC ID we recorded. */
static int boot_cpu_sane(char *why, size_t len)
{
	if (nr_possible_cpus < 1 || cpu_table[0].state != CPU_ONLINE) {
		snprintf(why, len, "boot CPU is not online in the CPU table");
		return -1;
	}
	if (cpu_table[0].apic_id != lapic_id()) {
		snprintf(why, len, "boot CPU APIC ID %u but running on %u", cpu_table[0].apic_id, lapic_id());
		return -1;
	}
	return 0;
}
INVARIANT(boot_cpu, boot_cpu_sane);

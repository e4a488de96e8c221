/*
 * The CPUs of the machine as the kernel sees them.  Possible CPUs come from
 * the firmware (the ACPI MADT); each has a logical number (0 = boot CPU), its
 * APIC ID and a state.  Later layers (SMP bring-up, hotplug) change the
 * state; this table is the one place it lives.  What a subsystem keeps per
 * CPU stays with that subsystem (virtualization's: core/virt, read with
 * virt_cpu_enabled() and friends).
 */
#ifndef VIGIL_CPU_H
#define VIGIL_CPU_H
#include <vigil/config.h>
#include <vigil/types.h>

enum cpu_state {
	CPU_ABSENT = 0,   /* possible (listed in the MADT), not present now */
	CPU_OFFLINE,      /* present, not running the kernel */
	CPU_ONLINE,
	CPU_FAILED,       /* did not come up */
};

struct cpu_desc {
	uint32_t apic_id;
	enum cpu_state state;
	/* Counts the times this CPU became present (hot-add): what a subsystem
	 * learnt about the CPU under an older count is about another chip. */
	unsigned present_gen;
};

extern unsigned nr_possible_cpus;
extern struct cpu_desc cpu_table[CONFIG_MAX_CPUS];

/* Register a possible CPU; returns its logical number or -1 when the table
 * is full (or maxcpus= reached). */
int cpu_register(uint32_t apic_id, enum cpu_state state);
void cpu_set_limit(unsigned max);   /* maxcpus= */
unsigned cpu_count_in_state(enum cpu_state s);
/* The logical number of the possible CPU with this APIC ID, or -1. */
int cpu_find_by_apic_id(uint32_t apic_id);
const char *cpu_state_name(enum cpu_state s);
/* The highest-numbered online CPU other than self, or -1 when there is none
 * (self-tests that need a second CPU). */
int cpu_other_online(unsigned self);
static inline bool cpu_is_online(unsigned cpu)
{
	return cpu < nr_possible_cpus && cpu_table[cpu].state == CPU_ONLINE;
}
#endif

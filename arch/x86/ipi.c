/*
 * Inter-processor interrupts: the fixed vectors the kernel uses between CPUs
 * (reschedule, function call) and NMIs (SDM vol 3, 11.6 "Issuing
 * interprocessor interrupts").
 */
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/percpu.h>
#include <asm/trap.h>
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/panic.h>
#include <vigil/printk.h>
#include <vigil/smp.h>
#include <vigil/task.h>

#define VEC_RESCHEDULE    0xF0
#define VEC_CALL_FUNCTION 0xF1
#define VEC_VCPU_KICK     0xF2

static const uint32_t ipi_vector[] = {
	[IPI_RESCHEDULE] = VEC_RESCHEDULE,
	[IPI_CALL_FUNCTION] = VEC_CALL_FUNCTION,
	[IPI_VCPU_KICK] = VEC_VCPU_KICK,
};

void arch_send_ipi(unsigned cpu, enum ipi_kind kind)
{
	uint32_t vec = ipi_vector[kind];
	lapic_send_ipi(cpu_table[cpu].apic_id, APIC_DM_FIXED | vec);
}

void arch_send_nmi(unsigned cpu)
{
	lapic_send_ipi(cpu_table[cpu].apic_id, APIC_DM_NMI);
}

static void resched_irq(struct trap_frame *tf)
{
	(void)tf;
	lapic_eoi();
	sched_ipi();
}

static void call_function_irq(struct trap_frame *tf)
{
	(void)tf;
	lapic_eoi();
	smp_call_ipi();
}

/* A vCPU kick (core/virt/vcpu_request.c): the interrupt already did its
 * work by making the guest exit (or, if it arrives late, by nothing); core
 * only counts it. */
static void vcpu_kick_irq(struct trap_frame *tf)
{
	(void)tf;
	lapic_eoi();
	vcpu_kick_ipi();
}

static volatile bool backtrace_wanted[CONFIG_MAX_CPUS];

static void nmi_trap(struct trap_frame *tf)
{
	/* First, before anything that could take a lock (the backtrace
	 * printk): another CPU's panic stops this one here, for good. */
	panic_nmi();
	unsigned cpu = smp_processor_id();
	if (__atomic_exchange_n(&backtrace_wanted[cpu], false, __ATOMIC_ACQ_REL)) {
		printk("NMI backtrace of CPU %u (task %s/%u):\n", cpu, current_task() ? task_name(current_task()) : "?",
		       current_task() ? task_id(current_task()) : 0);
		backtrace_from(tf->rbp, tf->rip);
	}
	nmi_handler();
}

/* Every other online CPU prints where it is (a debugging aid, like
 * Linux's sysrq-l); the calling CPU prints its own stack. */
void arch_backtrace_all_cpus(void)
{
	unsigned self = smp_processor_id();
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		if (c == self || !cpu_is_online(c))
			continue;
		backtrace_wanted[c] = true;
		arch_send_nmi(c);
		for (int i = 0; i < 1000000 && backtrace_wanted[c]; i++)
			cpu_relax();
	}
	printk("backtrace of CPU %u (this one):\n", self);
	arch_dump_stack();
}

void ipi_init(void)
{
	irq_register(VEC_RESCHEDULE, resched_irq);
	irq_register(VEC_CALL_FUNCTION, call_function_irq);
	irq_register(VEC_VCPU_KICK, vcpu_kick_irq);
	irq_register(VEC_NMI, nmi_trap);
}

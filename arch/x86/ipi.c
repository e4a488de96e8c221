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
#include <vigil/printk.h>
#include <vigil/smp.h>
#include <vigil/task.h>

#define VEC_RESCHEDULE    0xF0
#define VEC_CALL_FUNCTION 0xF1

void arch_send_ipi(unsigned cpu, enum ipi_kind kind)
{
	uint32_t vec = kind == IPI_RESCHEDULE ? VEC_RESCHEDULE : VEC_CALL_FUNCTION;
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

static void nmi_trap(struct trap_frame *tf)
{
	(void)tf;
	nmi_handler();
}

void ipi_init(void)
{
	irq_register(VEC_RESCHEDULE, resched_irq);
	irq_register(VEC_CALL_FUNCTION, call_function_irq);
	irq_register(VEC_NMI, nmi_trap);
}

/*
 * Per-CPU data, reached through the GS base (IA32_GS_BASE): gs:0 holds a
 * pointer to the structure itself, so this_cpu() is one instruction and
 * works in any context, interrupts included.
 */
#ifndef ASM_PERCPU_H
#define ASM_PERCPU_H
#include <vigil/types.h>

struct task;

struct percpu {
	struct percpu *self;         /* must stay first: read as gs:0 */
	unsigned cpu;                /* logical CPU number */
	uint32_t apic_id;
	struct task *current;
	unsigned preempt_count;
	unsigned irq_depth;          /* nesting of interrupt handlers */
	uint64_t timer_ticks;
	uint8_t *kernel_stack_top;
	uint8_t *ist_stacks[3];
};

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

extern struct percpu *percpu_of[];
void percpu_install(struct percpu *p);
/* The boot CPU's per-CPU area, before anything uses this_cpu() (percpu.c). */
void percpu_init_boot(void);
#endif

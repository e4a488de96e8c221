/* The scheduler's per-task architecture hooks (include/vigil/arch.h). */
#include <asm/cpu.h>
#include <asm/percpu.h>
#include <vigil/arch.h>

extern char task_first_switch[];

/* Lay out the stack the way arch_switch_to leaves it: six callee-saved
 * registers (r12 carries the entry point), then the return address.  With
 * the top 16-byte aligned, task_first_switch's push leaves rsp = 8 mod 16 at
 * entry(), as after a call (SysV ABI 3.2.2). */
uint64_t arch_task_stack_init(void *stack_top, void (*entry)(void))
{
	uint64_t *sp = (uint64_t *)((uint64_t)stack_top & ~15ULL);
	*--sp = (uint64_t)task_first_switch;    /* ret target */
	*--sp = 0;                              /* rbp */
	*--sp = 0;                              /* rbx */
	*--sp = (uint64_t)entry;                /* r12 */
	*--sp = 0;                              /* r13 */
	*--sp = 0;                              /* r14 */
	*--sp = 0;                              /* r15 */
	return (uint64_t)sp;
}

struct task *arch_get_current(void)
{
	struct task *t;
	__asm__ volatile("mov %%gs:%c1, %0" : "=r"(t) : "i"(__builtin_offsetof(struct percpu, current)));
	return t;
}

void arch_set_current(struct task *t)
{
	this_cpu()->current = t;
}

bool arch_in_interrupt(void)
{
	return this_cpu()->irq_depth > 0;
}

void arch_cpu_relax(void)
{
	cpu_relax();
}

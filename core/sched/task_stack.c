/*
 * Task stacks: TASK_STACK_ORDER pages from the page allocator, mapped by the
 * architecture above an unmapped guard page (arch_stack_map), so an overflow
 * faults at once.  The mapping is never torn down: a finished task's stack
 * goes on a free list and the next task takes it as it is (an unmap would
 * need a TLB shootdown before the address could be reused).  The link of the
 * free list lives in the stack's own bottom word.
 */
#include <vigil/arch.h>
#include <vigil/mm.h>
#include <vigil/spinlock.h>
#include <vigil/task.h>

#include "task_stack.h"

struct free_stack {
	struct free_stack *next;
	uint64_t phys;
};

static raw_spinlock_t free_lock = RAW_SPIN_LOCK_UNLOCKED;
static struct free_stack *free_stacks;   /* through the stacks' mapped addresses */

int task_stack_alloc(struct task *t)
{
	unsigned long flags = arch_irq_save();
	__raw_spin_lock(&free_lock);
	struct free_stack *f = free_stacks;
	if (f)
		free_stacks = f->next;
	__raw_spin_unlock(&free_lock);
	arch_irq_restore(flags);
	if (f) {
		t->stack_phys = f->phys;
		t->stack_base = f;
		return 0;
	}
	uint64_t phys = pmm_alloc_pages(TASK_STACK_ORDER);
	if (!phys)
		return -1;
	void *base = arch_stack_map(phys, TASK_STACK_BYTES);
	if (!base) {
		pmm_free_pages(phys, TASK_STACK_ORDER);
		return -1;
	}
	t->stack_phys = phys;
	t->stack_base = base;
	return 0;
}

void task_stack_free(struct task *t)
{
	struct free_stack *f = t->stack_base;
	f->phys = t->stack_phys;
	unsigned long flags = arch_irq_save();
	__raw_spin_lock(&free_lock);
	f->next = free_stacks;
	free_stacks = f;
	__raw_spin_unlock(&free_lock);
	arch_irq_restore(flags);
	t->stack_phys = 0;
	t->stack_base = NULL;
}

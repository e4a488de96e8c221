/*
 * Task stacks: TASK_STACK_ORDER pages from the page allocator, mapped by the
 * architecture above an unmapped guard page (arch_stack_map), so an overflow
 * faults at once.  The mapping is never torn down: a finished task's stack
 * goes on a free list and the next task takes it as it is (an unmap would
 * need a TLB shootdown before the address could be reused).  The link of the
 * free list lives in the stack's own bottom word.
 *
 * Also here: the fill pattern that gives each stack's high-water mark, the
 * `stacks` invariant of `check`, and which task a stack page belongs to.
 */
#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/spinlock.h>
#include <vigil/string.h>
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

/* Task stacks are filled with a pattern when created: the untouched part at
 * the bottom tells how deep a stack ever got (the high-water mark `tasks`
 * shows).  A clobbered bottom word means the stack was used to its last byte
 * or something else wrote there: an overflow proper faults on the guard page
 * below (task_stack_alloc() above).  Both count as overflows for `check`. */
#define STACK_FILL 0x57ac0ffee57ac0feULL

static unsigned stack_overflows_seen;   /* ever, joined tasks included */

void task_stack_fill(struct task *t)
{
	uint64_t *w = phys_to_virt(t->stack_phys);
	for (size_t i = 0; i < (PAGE_SIZE << TASK_STACK_ORDER) / 8; i++)
		w[i] = STACK_FILL;
}

/* Bytes of t's stack ever used (0 for tasks on boot stacks). */
size_t sched_task_stack_used(const struct task *t)
{
	if (!t->stack_phys)
		return 0;
	const uint64_t *w = phys_to_virt(t->stack_phys);
	size_t n = (PAGE_SIZE << TASK_STACK_ORDER) / 8, i = 0;
	while (i < n && w[i] == STACK_FILL)
		i++;
	return (n - i) * 8;
}

void task_stack_check_bottom(struct task *t)
{
	if (t->stack_phys && *(uint64_t *)phys_to_virt(t->stack_phys) != STACK_FILL && !t->stack_overflow_seen) {
		t->stack_overflow_seen = true;
		__atomic_fetch_add(&stack_overflows_seen, 1, __ATOMIC_RELAXED);
		printk("BUG: sched: task '%s'/%u overflowed its stack\n", t->name, t->id);
	}
}

struct stack_query {
	uint64_t phys;
	char *buf;
	size_t len;
	bool found;
};

static void match_stack(struct task *t, void *arg)
{
	struct stack_query *q = arg;
	if (!q->found && t->stack_phys && q->phys >= t->stack_phys &&
	    q->phys < t->stack_phys + (PAGE_SIZE << TASK_STACK_ORDER)) {
		snprintf(q->buf, q->len, "stack of task '%s'/%u (page %lu of %u from the bottom)", t->name, t->id,
			 (unsigned long)((q->phys - t->stack_phys) / PAGE_SIZE), 1u << TASK_STACK_ORDER);
		q->found = true;
	}
}

struct stack_check {
	char *why;
	size_t len;
	bool bad;
};

static void check_one_stack(struct task *t, void *arg)
{
	struct stack_check *c = arg;
	if (c->bad || !t->stack_phys || *(const uint64_t *)phys_to_virt(t->stack_phys) == STACK_FILL)
		return;
	c->bad = true;
	snprintf(c->why, c->len, "task '%s'/%u used its whole %zu-byte stack (bottom word clobbered)", t->name,
		 t->id, TASK_STACK_BYTES);
}

/* `check`: no task's stack ever overflowed (its own canary, or one seen on a
 * task since joined). */
static int check_stacks(char *why, size_t len)
{
	struct stack_check c = {why, len, false};
	sched_for_each_task(check_one_stack, &c);
	if (c.bad)
		return -1;
	unsigned n = __atomic_load_n(&stack_overflows_seen, __ATOMIC_RELAXED);
	if (n) {
		snprintf(why, len, "%u stack overflow%s seen since boot", n, n == 1 ? "" : "s");
		return -1;
	}
	return 0;
}
INVARIANT(stacks, check_stacks);

bool sched_describe_stack_page(uint64_t phys, char *buf, size_t len)
{
	struct stack_query q = {phys, buf, len, false};
	sched_for_each_task(match_stack, &q);
	return q.found;
}

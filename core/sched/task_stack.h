/* Task stacks with a guard page below (core/sched/task_stack.c). */
#ifndef CORE_SCHED_TASK_STACK_H
#define CORE_SCHED_TASK_STACK_H

#include <vigil/task.h>

#define TASK_STACK_BYTES ((size_t)PAGE_SIZE << TASK_STACK_ORDER)

/* Set t->stack_phys and t->stack_base; -1 when out of memory. */
int task_stack_alloc(struct task *t);
/* Keep t's stack for the next task (never unmapped). */
void task_stack_free(struct task *t);
/* Fill t's stack with the pattern whose untouched part gives its high-water
 * mark. */
void task_stack_fill(struct task *t);
/* Report (once per task) a stack whose bottom word is no longer the fill:
 * used to its last byte.  Called for the task being switched away from. */
void task_stack_check_bottom(struct task *t);

#endif

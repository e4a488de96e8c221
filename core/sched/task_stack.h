/* Task stacks with a guard page below (core/sched/task_stack.c). */
#ifndef CORE_SCHED_TASK_STACK_H
#define CORE_SCHED_TASK_STACK_H

#include <vigil/task.h>

#define TASK_STACK_BYTES ((size_t)PAGE_SIZE << TASK_STACK_ORDER)

/* Set t->stack_phys and t->stack_base; -1 when out of memory. */
int task_stack_alloc(struct task *t);
/* Keep t's stack for the next task (never unmapped). */
void task_stack_free(struct task *t);

#endif

/*
 * Tasks and the scheduler interface that the locking primitives build on.
 *
 * The sleeping primitives (wait queues, mutexes, rw-semaphores, completions,
 * the CPU-hotplug lock) use only the calls below, the Linux pattern:
 *
 *     set_current_state(TASK_BLOCKED);   // before testing the condition
 *     if (!condition) schedule();        // sleeps unless woken meanwhile
 *     __set_current_state(TASK_RUNNING);
 *
 * and wake_up_task(t) from the waker.  A wake-up that lands between
 * set_current_state() and schedule() makes schedule() return at once, so no
 * wake-up is lost.
 *
 * Two implementations: core/sched/ in the kernel (per-CPU run queues, timer
 * preemption, migration, idle tasks), and tests/unit/host_sched.c on the host
 * (every task is a pthread; schedule() waits on a condition variable), so the
 * locks and lockdep run under real concurrency in host tests.
 */
#ifndef VIGIL_SCHED_H
#define VIGIL_SCHED_H

#include <vigil/types.h>

enum task_state {
	TASK_RUNNING = 0,   /* on a run queue or running */
	TASK_BLOCKED = 1,   /* sleeping until wake_up_task() */
	TASK_DEAD = 2,
};

struct task;                        /* defined by the implementation */

struct task *current_task(void);
const char *task_name(const struct task *t);
unsigned task_id(const struct task *t);

void set_current_state(enum task_state s);   /* with a full barrier */
void __set_current_state(enum task_state s); /* without */
/* Give up the CPU.  Returns when the current task is TASK_RUNNING again
 * (immediately if it still is). */
void schedule(void);
/* Make t runnable (no-op when it already is).  Safe from interrupts. */
void wake_up_task(struct task *t);

/* What the current task is about to sleep for, e.g. ("&mi->slots_rwsem",
 * "read"); (NULL, NULL) once it has it.  The hung-task detector
 * (`hungtask <ms>`) reports tasks that sleep on a noted wait for too long,
 * naming it.  Both strings must stay valid while noted (literals, lock names). */
void sched_wait_note(const char *what, const char *how);

/* Preemption.  While preempt_count() > 0 the current task is neither
 * preempted nor migrated; spinlocks hold it raised. */
void preempt_disable(void);
void preempt_enable(void);
unsigned preempt_count(void);
/* true in interrupt context, with preemption or interrupts disabled. */
bool in_atomic(void);
bool in_interrupt(void);

/* The scheduler wants the current CPU back (the task's slice ended, a
 * task was woken for it): work that is about to run long without a
 * preemption point (a guest entry) should let it have it first. */
bool need_resched(void);

/* The CPU the current task runs on (stable only with preemption off). */
unsigned smp_processor_id(void);

#endif

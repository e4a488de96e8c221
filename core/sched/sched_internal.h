/*
 * What the pieces of the scheduler share, and nothing outside core/sched/
 * may use: the per-CPU run queue and the functions one piece calls in
 * another.
 *
 *   runqueue.c       run queues, preemption, switching, wake-ups, migration,
 *                    the tick and the idle loop
 *   kthread.c        creating, exiting and joining kernel threads; the list
 *                    of every task
 *   sleep.c          sleep_ns() and the tick's wake-up of sleepers
 *   sched_hotplug.c  a CPU's run queue closing and opening as it goes
 *                    offline and comes online
 *   task_stack.c     task stacks: guard pages, high-water marks, the
 *                    `stacks` invariant
 */
#ifndef CORE_SCHED_SCHED_INTERNAL_H
#define CORE_SCHED_SCHED_INTERNAL_H

#include <vigil/arch.h>
#include <vigil/config.h>
#include <vigil/spinlock.h>
#include <vigil/task.h>

/* The run-queue lock is the bare ticket lock of include/vigil/spinlock.h
 * (__raw_spin_lock): the scheduler manages preemption itself and holds the
 * lock across a context switch, so neither the preemption count of
 * raw_spin_lock() nor lockdep (whose bookkeeping needs the current task
 * this lock is switching) can be involved.  Taken with interrupts off. */
struct runqueue {
	raw_spinlock_t lock;
	struct task *head, *tail;
	unsigned nr;                 /* queued, not counting the running task */
	struct task *curr;
	struct task *idle;
	struct task *last;           /* the task switched away from (finish_switch) */
	struct task *migrate_out;    /* runnable tasks leaving this CPU (finish_switch; chained by rq_next) */
	bool dying;                  /* going offline: takes no tasks, pushes its own away */
	uint64_t switches;
	struct task *curr_set_by;    /* the task that last set curr (hang reports) */
};

extern struct runqueue rqs[CONFIG_MAX_CPUS];
extern bool sched_running;

/* runqueue.c */
/* Queue a runnable task that is neither running nor queued on its CPU and
 * kick that CPU (interrupts off, no run-queue lock held). */
void enqueue_remote(struct task *t, unsigned cpu);
/* Second half of a switch, run by the task switched to. */
void finish_switch(void);
__noreturn void idle_loop(void);

/* kthread.c */
/* Give a task an id and put it on the list of every task. */
void register_task(struct task *t);
/* Set up a task that runs on a stack it already has (the boot context, the
 * idle tasks) and register it. */
struct task *make_static_task(struct task *t, const char *name, unsigned cpu, bool idle);

/* sleep.c */
/* From the boot CPU's tick: wake the sleepers whose time has come. */
void wake_sleepers_due(uint64_t now);

/* sched_hotplug.c */
/* A CPU's own thread stays on it while it goes down (until it sleeps). */
bool stays_while_dying(const struct task *t, unsigned cpu);
/* Where a runnable task on `from` must go: its bound CPU, or (leaving a
 * dying CPU) the next live one, breaking its affinity. */
unsigned leave_target(struct task *t, unsigned from);
/* The idle loop of a dying CPU: park it once its queue is empty. */
void idle_die(void);

#endif

/*
 * The host implementation of include/vigil/sched.h and of the arch.h hooks
 * the locks, lockdep and printk need, so the real core/sync and core/lockdep
 * code runs in unit tests under real concurrency (and ThreadSanitizer).
 *
 *  - Every task is a pthread.  schedule() waits on the task's condition
 *    variable until wake_up_task() made it TASK_RUNNING.  A thread that was
 *    not spawned here (the cmocka main thread) becomes task "main" on CPU 0
 *    the first time it asks for current_task().
 *  - CPUs are numbers given at spawn time (host_task_spawn(..., cpu, ...)).
 *    "Not preemptible" is modelled faithfully: while a task has preemption or
 *    interrupts disabled (or is in a fake interrupt) it owns its CPU's mutex,
 *    so two tasks assigned to one CPU never overlap in such sections -- per-CPU
 *    data under preempt_disable() is as safe as on the real machine.
 *    Sleeping in schedule() while owning the CPU is a bug: the test aborts
 *    with "BUG: scheduling while atomic".
 *  - arch_irq_save/restore toggle a per-task flag; arch_time_ns is
 *    CLOCK_MONOTONIC; console output (printk) is captured in a buffer the
 *    tests can search, and echoed to stdout when VIGIL_TEST_VERBOSE is set;
 *    arch_poweroff/panic abort the test binary after printing.
 *  - Task structs are never freed before the process exits, so a late
 *    wake_up_task() on a task that has finished is harmless (as the kernel
 *    must guarantee too).
 */
#ifndef TESTS_UNIT_HOST_SCHED_H
#define TESTS_UNIT_HOST_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <vigil/sched.h>

#define HOST_MAX_CPUS 64   /* fake CPUs tests may use: 0 .. HOST_MAX_CPUS-1 */

typedef void (*host_task_fn)(void *arg);

/* Start fn(arg) as a new task on fake CPU cpu. */
struct task *host_task_spawn(host_task_fn fn, void *arg, unsigned cpu, const char *name);
/* Wait for the task to finish. */
void host_task_join(struct task *t);
/* Spawn and join: run fn(arg) as a task on cpu, to completion. */
static inline void host_task_run(host_task_fn fn, void *arg, unsigned cpu, const char *name)
{
	host_task_join(host_task_spawn(fn, arg, cpu, name));
}

/* Move the current task to another CPU (only while preemptible). */
void host_task_set_cpu(unsigned cpu);

/* Whether t is asleep inside schedule() right now, and how many times it
 * has slept there so far. */
bool host_task_sleeping(const struct task *t);
unsigned long host_task_sleeps(const struct task *t);
/* Wait (polling, up to ~10 s, then fail the test) until t sleeps in
 * schedule(). */
void host_wait_until_sleeping(const struct task *t);

/* Fake interrupt context for the current task (in_interrupt() true). */
void host_irq_enter(void);
void host_irq_exit(void);

/* Captured console output. */
void host_console_clear(void);
/* Occurrences of s in the output since the last clear. */
unsigned host_console_count(const char *s);
/* A copy of the output since the last clear (free() it). */
char *host_console_text(void);
/* Print the captured output to stdout (call when a test fails). */
void host_console_dump(void);

/* Abort the test binary (SIGALRM) if it is still running after seconds:
 * a lost wake-up shows up as a hang, and a hang must fail, not stall CI. */
void host_watchdog(unsigned seconds);
/* cmocka teardown: the test left no lockdep violation (dumps the console
 * output when it did). */
int host_teardown_no_violations(void **state);

/* Let other threads run (sched_yield; stays TASK_RUNNING). */
void host_yield(void);

/* Sleep the calling thread (not a scheduler sleep: stays TASK_RUNNING). */
void host_msleep(unsigned ms);

#endif

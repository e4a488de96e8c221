/*
 * The hung-task detector: tasks that have slept on a noted wait
 * (sched_wait_note(), done by the mutex and rw-semaphore slow paths and the
 * memory-slot swap) for longer than a limit are reported, once per wait,
 * naming the task and what it waits for:
 *
 *     hungtask: task 'inval_a'/17 blocked for 812 ms on &mi->slots_rwsem (read)
 *
 * Off by default; `hungtask <ms>` starts a checker thread (khungtaskd) that
 * looks every limit/2, `hungtask off` stops it.  Waits nobody noted (idle
 * workers sleeping on a queue for work) are never reported: they are not
 * stuck, they have nothing to do.
 */
#ifndef VIGIL_HUNG_TASK_H
#define VIGIL_HUNG_TASK_H

#include <vigil/types.h>

struct hung_task_report {
	unsigned id;
	char name[24];
	const char *what, *how;
	uint64_t blocked_ns;
};

/* One pass: every task blocked on a noted wait for at least limit_ns is
 * passed to fn (outside any lock; fn may print or sleep).  only_new: skip
 * waits already reported by an earlier pass with only_new.  Returns how many
 * were found. */
unsigned hung_task_scan(uint64_t limit_ns, bool only_new, void (*fn)(const struct hung_task_report *r, void *arg),
			void *arg);
/* The detector's reports so far (printed lines). */
unsigned long hung_task_reports(void);

#endif

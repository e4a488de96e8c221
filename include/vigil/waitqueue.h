/*
 * Wait queues: a list of sleeping tasks behind a short raw spinlock, and the
 * sleep/wake protocol of include/vigil/sched.h wrapped so that no wake-up is
 * lost:
 *
 *     waiter                              waker
 *     prepare_to_wait(wq, &e)             cond = true
 *       (queue e, TASK_BLOCKED, full mb)  wake_up_one(wq) / wake_up_all(wq)
 *     if (!cond) schedule()                 (under wq->lock: wake, unqueue)
 *     finish_wait(wq, &e)
 *
 * If the waker looked at the queue before e was on it, the waker's store to
 * cond happened before the queue lock was passed to the waiter, so the waiter
 * sees cond; otherwise it finds e and wakes the task.  wait_event() does all
 * of this.
 *
 * A woken entry is removed from the queue by the waker (so wake_up_one wakes
 * a different task each time) and re-queued by the next prepare_to_wait.
 * wake_up_one wakes the longest waiter; use it only when every waiter would
 * do (each waiter then consumes what it was woken for, e.g. a mutex).
 *
 * The queue lock is raw (no lockdep): it is a leaf held for a few
 * instructions around list updates and wake_up_task(), never around another
 * lockdep-tracked lock, so it cannot take part in a cycle; the lock a caller
 * sleeps for is what lockdep tracks.  It disables interrupts: wake-ups may
 * come from interrupt handlers.
 */
#ifndef VIGIL_WAITQUEUE_H
#define VIGIL_WAITQUEUE_H

#include <vigil/atomic.h>
#include <vigil/list.h>
#include <vigil/lockdep.h>
#include <vigil/sched.h>
#include <vigil/spinlock.h>

struct wait_queue_head {
	raw_spinlock_t lock;
	struct list_head head;   /* of wait_queue_entry.node, oldest first */
	unsigned nr;             /* entries queued; read without the lock */
};

struct wait_queue_entry {
	struct list_head node;
	struct task *task;
	/* 1 while on the queue.  Cleared by the waker (release) as its last
	 * touch of the entry, so finish_wait may skip the lock when it reads 0
	 * (acquire): the entry, usually on the waiter's stack, is then free. */
	int queued;
};

#define WAIT_QUEUE_HEAD_INITIALIZER(name) \
	{ .lock = RAW_SPIN_LOCK_UNLOCKED, .head = LIST_HEAD_INIT((name).head), .nr = 0 }
#define DECLARE_WAIT_QUEUE_HEAD(name) \
	struct wait_queue_head name = WAIT_QUEUE_HEAD_INITIALIZER(name)

void init_waitqueue_head(struct wait_queue_head *wq);
/* For the current task. */
void init_wait_entry(struct wait_queue_entry *e);

/* Queue e (unless it already is) and set TASK_BLOCKED with a full barrier:
 * test the condition after this, then schedule() if it is still false. */
void prepare_to_wait(struct wait_queue_head *wq, struct wait_queue_entry *e);
/* TASK_RUNNING again, and e off the queue. */
void finish_wait(struct wait_queue_head *wq, struct wait_queue_entry *e);

/* Wake up to nr waiters (0 = all), oldest first; returns how many.
 * __wake_up_locked: the caller holds wq->lock (with interrupts off). */
unsigned wake_up_nr(struct wait_queue_head *wq, unsigned nr);
unsigned __wake_up_locked(struct wait_queue_head *wq, unsigned nr);
#define wake_up_one(wq) wake_up_nr((wq), 1)
#define wake_up_all(wq) wake_up_nr((wq), 0)

/* Anyone waiting?  A hint; waitqueue_active needs the caller's own ordering,
 * wq_has_sleeper supplies the full barrier that pairs with the one in
 * prepare_to_wait (store cond; mb; look at the queue vs. queue; mb; look at
 * cond), so a waker may skip the lock when it returns false. */
static inline bool waitqueue_active(struct wait_queue_head *wq)
{
	return READ_ONCE(wq->nr) != 0;
}

static inline bool wq_has_sleeper(struct wait_queue_head *wq)
{
	smp_mb();
	return waitqueue_active(wq);
}

/*
 * Sleep until cond is true (wq is a pointer).  cond is evaluated with the
 * task already queued and TASK_BLOCKED; it may have side effects (e.g. take
 * what it waits for) as long as it does so only when it returns true.
 * __wait_event is the same without the might_sleep() check, for the sleeping
 * locks, which check at their caller's site before they get here.
 */
#define __wait_event(wq, cond) do {                                          \
	if (cond)                                                             \
		break;                                                        \
	struct wait_queue_entry __we;                                         \
	init_wait_entry(&__we);                                               \
	for (;;) {                                                            \
		prepare_to_wait((wq), &__we);                                 \
		if (cond)                                                     \
			break;                                                \
		schedule();                                                   \
	}                                                                     \
	finish_wait((wq), &__we);                                             \
} while (0)

#define wait_event(wq, cond) do {                                            \
	__might_sleep(LOCKDEP_SITE);                                          \
	__wait_event(wq, cond);                                               \
} while (0)

#endif

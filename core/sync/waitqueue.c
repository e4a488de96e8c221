/*
 * Wait queues: see include/vigil/waitqueue.h for the protocol.  The one
 * subtle point is the entry's lifetime: it usually lives on the waiter's
 * stack, and the waiter may return as soon as it sees `queued == 0`.  So the
 * waker reads everything it needs from the entry first, wakes the task, and
 * clears `queued` with a release store as its very last access.
 */
#include <vigil/atomic.h>
#include <vigil/sched.h>
#include <vigil/waitqueue.h>

void init_waitqueue_head(struct wait_queue_head *wq)
{
	raw_spin_lock_init(&wq->lock);
	INIT_LIST_HEAD(&wq->head);
	WRITE_ONCE(wq->nr, 0);
}

void init_wait_entry(struct wait_queue_entry *e)
{
	INIT_LIST_HEAD(&e->node);
	e->task = current_task();
	__atomic_store_n(&e->queued, 0, __ATOMIC_RELAXED);
}

void prepare_to_wait(struct wait_queue_head *wq, struct wait_queue_entry *e)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&wq->lock, flags);
	if (!__atomic_load_n(&e->queued, __ATOMIC_RELAXED)) {
		list_add_tail(&e->node, &wq->head);
		__atomic_store_n(&e->queued, 1, __ATOMIC_RELAXED);
		WRITE_ONCE(wq->nr, wq->nr + 1);
	}
	/* Full barrier: the queueing (and nr) is visible before the caller
	 * tests its condition (pairs with wq_has_sleeper / the queue lock). */
	set_current_state(TASK_BLOCKED);
	raw_spin_unlock_irqrestore(&wq->lock, flags);
}

void finish_wait(struct wait_queue_head *wq, struct wait_queue_entry *e)
{
	__set_current_state(TASK_RUNNING);
	/* Acquire: if the waker dequeued us, it is done with the entry. */
	if (!__atomic_load_n(&e->queued, __ATOMIC_ACQUIRE))
		return;
	unsigned long flags;
	raw_spin_lock_irqsave(&wq->lock, flags);
	if (__atomic_load_n(&e->queued, __ATOMIC_RELAXED)) {
		list_del_init(&e->node);
		WRITE_ONCE(wq->nr, wq->nr - 1);
		__atomic_store_n(&e->queued, 0, __ATOMIC_RELAXED);
	}
	raw_spin_unlock_irqrestore(&wq->lock, flags);
}

unsigned __wake_up_locked(struct wait_queue_head *wq, unsigned nr)
{
	unsigned woken = 0;

	while (!list_empty(&wq->head) && (nr == 0 || woken < nr)) {
		struct wait_queue_entry *e =
			list_first_entry(&wq->head, struct wait_queue_entry, node);
		struct task *t = e->task;

		list_del_init(&e->node);
		WRITE_ONCE(wq->nr, wq->nr - 1);
		wake_up_task(t);
		/* Last touch of e: from here the waiter may free it. */
		__atomic_store_n(&e->queued, 0, __ATOMIC_RELEASE);
		woken++;
	}
	return woken;
}

unsigned wake_up_nr(struct wait_queue_head *wq, unsigned nr)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&wq->lock, flags);
	unsigned woken = __wake_up_locked(wq, nr);
	raw_spin_unlock_irqrestore(&wq->lock, flags);
	return woken;
}

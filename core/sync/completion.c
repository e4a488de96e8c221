/*
 * Completions: an event counter under the wait queue's own lock.  Waiters
 * use wait_event with a condition that consumes an event, so an event posted
 * before the wait, or between the waiter's check and its sleep, is never
 * lost (waitqueue.h).
 */
#include <vigil/completion.h>
#include <vigil/lockdep.h>

void init_completion(struct completion *c)
{
	__atomic_store_n(&c->done, 0, __ATOMIC_RELAXED);
	init_waitqueue_head(&c->wait);
}

void reinit_completion(struct completion *c)
{
	__atomic_store_n(&c->done, 0, __ATOMIC_RELAXED);
}

void complete(struct completion *c)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&c->wait.lock, flags);
	if (c->done != COMPLETION_ALL)
		__atomic_store_n(&c->done, c->done + 1, __ATOMIC_RELAXED);
	/* One event, one waiter: the woken waiter consumes it. */
	__wake_up_locked(&c->wait, 1);
	raw_spin_unlock_irqrestore(&c->wait.lock, flags);
}

void complete_all(struct completion *c)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&c->wait.lock, flags);
	__atomic_store_n(&c->done, COMPLETION_ALL, __ATOMIC_RELAXED);
	__wake_up_locked(&c->wait, 0);
	raw_spin_unlock_irqrestore(&c->wait.lock, flags);
}

/* The lock orders the caller's view: whatever the completer wrote before
 * complete() is visible once the event is consumed. */
bool try_wait_for_completion(struct completion *c)
{
	unsigned long flags;
	bool got = false;

	raw_spin_lock_irqsave(&c->wait.lock, flags);
	if (c->done) {
		if (c->done != COMPLETION_ALL)
			__atomic_store_n(&c->done, c->done - 1, __ATOMIC_RELAXED);
		got = true;
	}
	raw_spin_unlock_irqrestore(&c->wait.lock, flags);
	return got;
}

bool completion_done(struct completion *c)
{
	return __atomic_load_n(&c->done, __ATOMIC_RELAXED) != 0;
}

void wait_for_completion_at(struct completion *c, const char *site)
{
	__might_sleep(site);
	__wait_event(&c->wait, try_wait_for_completion(c));
}

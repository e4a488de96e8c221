/*
 * Read-write semaphore (include/vigil/rwsem.h): a small state machine under
 * wait_lock with direct hand-off.  A task that cannot take the semaphore at
 * once queues a waiter record on its stack and sleeps until a releaser has
 * granted it the semaphore (made it the writer, or counted it as a reader)
 * and set `granted`.  Hand-off, rather than "wake and retry", is what makes
 * the queue order binding: nobody can slip in between a release and the
 * woken waiter, so a waiting writer really does keep new readers out.
 */
#include <vigil/atomic.h>
#include <vigil/lockdep.h>
#include <vigil/rwsem.h>
#include <vigil/sched.h>

struct rwsem_waiter {
	struct list_head node;
	struct task *task;
	bool write;
	int granted;   /* set (release) by the granter, under wait_lock */
};

void __init_rwsem(struct rw_semaphore *s, const char *name, const struct lock_class_key *key)
{
	raw_spin_lock_init(&s->wait_lock);
	s->count = 0;
	s->owner = NULL;
	INIT_LIST_HEAD(&s->waiters);
	lockdep_init_map(&s->dep_map, name, key);
}

static void grant(struct rwsem_waiter *w)
{
	struct task *t = w->task;

	list_del(&w->node);
	__atomic_store_n(&w->granted, 1, __ATOMIC_RELEASE);
	/* w may be gone now (the waiter can see `granted` without sleeping);
	 * t is not: the waiter takes wait_lock once more before it returns. */
	wake_up_task(t);
}

/* The semaphore just became free (count == 0): hand it to the head of the
 * queue -- one writer, or every reader up to the first writer. */
static void grant_waiters(struct rw_semaphore *s)
{
	struct rwsem_waiter *w = list_first_entry_or_null(&s->waiters, struct rwsem_waiter, node);

	if (!w)
		return;
	if (w->write) {
		s->count = -1;
		s->owner = w->task;
		grant(w);
		return;
	}
	/* Re-read the head each time: a granted waiter may already be gone. */
	while ((w = list_first_entry_or_null(&s->waiters, struct rwsem_waiter, node)) && !w->write) {
		s->count++;
		grant(w);
	}
}

/* Queue and sleep until granted.  Called with wait_lock held; returns
 * without it. */
static void wait_for_grant(struct rw_semaphore *s, bool write, unsigned long flags)
{
	struct rwsem_waiter w = { .task = current_task(), .write = write, .granted = 0 };

	list_add_tail(&w.node, &s->waiters);
	raw_spin_unlock_irqrestore(&s->wait_lock, flags);
	sched_wait_note(s->dep_map.name, write ? "write" : "read");
	for (;;) {
		set_current_state(TASK_BLOCKED);
		if (__atomic_load_n(&w.granted, __ATOMIC_ACQUIRE))
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	sched_wait_note(NULL, NULL);
	/* The granter sets `granted` and then calls wake_up_task(us), both
	 * under wait_lock.  We may have seen `granted` before that call: wait
	 * for the granter to drop the lock so that it is done with our task
	 * before we can return, exit and be freed. */
	raw_spin_lock_irqsave(&s->wait_lock, flags);
	raw_spin_unlock_irqrestore(&s->wait_lock, flags);
}

void down_read_at(struct rw_semaphore *s, unsigned subclass, const char *site)
{
	unsigned long flags;

	__might_sleep(site);
	lock_acquire(&s->dep_map, subclass, true, false, site, LOCKDEP_RET_IP);
	raw_spin_lock_irqsave(&s->wait_lock, flags);
	/* Anyone queued (a writer, or readers behind one) goes first. */
	if (s->count >= 0 && list_empty(&s->waiters)) {
		s->count++;
		raw_spin_unlock_irqrestore(&s->wait_lock, flags);
		return;
	}
	wait_for_grant(s, false, flags);
}

bool down_read_trylock_at(struct rw_semaphore *s, const char *site)
{
	unsigned long flags;
	bool ok = false;

	raw_spin_lock_irqsave(&s->wait_lock, flags);
	if (s->count >= 0 && list_empty(&s->waiters)) {
		s->count++;
		ok = true;
	}
	raw_spin_unlock_irqrestore(&s->wait_lock, flags);
	if (ok)
		lock_acquire(&s->dep_map, 0, true, true, site, LOCKDEP_RET_IP);
	return ok;
}

void down_write_at(struct rw_semaphore *s, unsigned subclass, const char *site)
{
	unsigned long flags;

	__might_sleep(site);
	lock_acquire(&s->dep_map, subclass, false, false, site, LOCKDEP_RET_IP);
	raw_spin_lock_irqsave(&s->wait_lock, flags);
	if (s->count == 0 && list_empty(&s->waiters)) {
		s->count = -1;
		s->owner = current_task();
		raw_spin_unlock_irqrestore(&s->wait_lock, flags);
		return;
	}
	wait_for_grant(s, true, flags);
}

/* The head of the queue just left without being granted: whoever can run
 * now that it is gone (the readers it held back, or a writer when the
 * semaphore is free) is granted. */
static void grant_after_abort(struct rw_semaphore *s)
{
	struct rwsem_waiter *w;

	if (s->count == 0) {
		grant_waiters(s);
		return;
	}
	if (s->count < 0)
		return;
	while ((w = list_first_entry_or_null(&s->waiters, struct rwsem_waiter, node)) && !w->write) {
		s->count++;
		grant(w);
	}
}

int down_write_abortable_at(struct rw_semaphore *s, const int *abort, const char *site)
{
	unsigned long flags;
	struct rwsem_waiter w = { .task = current_task(), .write = true, .granted = 0 };

	__might_sleep(site);
	lock_acquire(&s->dep_map, 0, false, false, site, LOCKDEP_RET_IP);
	raw_spin_lock_irqsave(&s->wait_lock, flags);
	if (s->count == 0 && list_empty(&s->waiters)) {
		s->count = -1;
		s->owner = current_task();
		raw_spin_unlock_irqrestore(&s->wait_lock, flags);
		return 0;
	}
	list_add_tail(&w.node, &s->waiters);
	raw_spin_unlock_irqrestore(&s->wait_lock, flags);
	sched_wait_note(s->dep_map.name, "write");
	for (;;) {
		set_current_state(TASK_BLOCKED);
		if (__atomic_load_n(&w.granted, __ATOMIC_ACQUIRE) || __atomic_load_n(abort, __ATOMIC_ACQUIRE))
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	sched_wait_note(NULL, NULL);
	raw_spin_lock_irqsave(&s->wait_lock, flags);
	/* Granted and aborted at once: the grant wins (we own it now). */
	if (__atomic_load_n(&w.granted, __ATOMIC_ACQUIRE)) {
		raw_spin_unlock_irqrestore(&s->wait_lock, flags);
		return 0;
	}
	bool was_head = list_first_entry_or_null(&s->waiters, struct rwsem_waiter, node) == &w;
	list_del(&w.node);
	if (was_head)
		grant_after_abort(s);
	raw_spin_unlock_irqrestore(&s->wait_lock, flags);
	lock_release(&s->dep_map, site, LOCKDEP_RET_IP);
	return -1;
}

bool down_write_trylock_at(struct rw_semaphore *s, const char *site)
{
	unsigned long flags;
	bool ok = false;

	raw_spin_lock_irqsave(&s->wait_lock, flags);
	if (s->count == 0 && list_empty(&s->waiters)) {
		s->count = -1;
		s->owner = current_task();
		ok = true;
	}
	raw_spin_unlock_irqrestore(&s->wait_lock, flags);
	if (ok)
		lock_acquire(&s->dep_map, 0, false, true, site, LOCKDEP_RET_IP);
	return ok;
}

void up_read_at(struct rw_semaphore *s, const char *site)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&s->wait_lock, flags);
	if (s->count <= 0) {
		raw_spin_unlock_irqrestore(&s->wait_lock, flags);
		lockdep_report_misuse("unlock-unlocked", &s->dep_map, site,
				      "up_read of an rw_semaphore not held for read");
		return;
	}
	lock_release(&s->dep_map, site, LOCKDEP_RET_IP);
	if (--s->count == 0)
		grant_waiters(s);
	raw_spin_unlock_irqrestore(&s->wait_lock, flags);
}

void up_write_at(struct rw_semaphore *s, const char *site)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&s->wait_lock, flags);
	if (s->count != -1) {
		raw_spin_unlock_irqrestore(&s->wait_lock, flags);
		lockdep_report_misuse("unlock-unlocked", &s->dep_map, site,
				      "up_write of an rw_semaphore not held for write");
		return;
	}
	if (s->owner != current_task()) {
		lockdep_report_misuse("unlock-not-owner", &s->dep_map, site,
				      "up_write by a task that is not the writer");
	} else {
		lock_release(&s->dep_map, site, LOCKDEP_RET_IP);
	}
	s->count = 0;
	s->owner = NULL;
	grant_waiters(s);
	raw_spin_unlock_irqrestore(&s->wait_lock, flags);
}

bool rwsem_is_locked(struct rw_semaphore *s)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&s->wait_lock, flags);
	bool locked = s->count != 0;
	raw_spin_unlock_irqrestore(&s->wait_lock, flags);
	return locked;
}

bool rwsem_has_waiters(struct rw_semaphore *s)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&s->wait_lock, flags);
	bool any = !list_empty(&s->waiters);
	raw_spin_unlock_irqrestore(&s->wait_lock, flags);
	return any;
}

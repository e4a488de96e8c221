/*
 * Sleeping mutex (include/vigil/mutex.h).
 *
 * Lock: compare-and-exchange owner NULL -> current.  When that fails, wait on
 * the wait queue with the same compare-and-exchange as the wake condition.
 * Unlock: store NULL (release), then wake the longest waiter if there is one.
 * wq_has_sleeper's full barrier pairs with the one in prepare_to_wait: either
 * the unlocker sees the queued waiter, or the waiter's retry (after queueing)
 * sees owner == NULL -- a wake-up cannot fall between them.
 */
#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/sched.h>

void __mutex_init(struct mutex *m, const char *name, const struct lock_class_key *key)
{
	__atomic_store_n(&m->owner, NULL, __ATOMIC_RELAXED);
	init_waitqueue_head(&m->wait);
	lockdep_init_map(&m->dep_map, name, key);
}

static bool mutex_try_take(struct mutex *m)
{
	struct task *expected = NULL;

	return __atomic_compare_exchange_n(&m->owner, &expected, current_task(), false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void mutex_lock_at(struct mutex *m, unsigned subclass, const char *site)
{
	__might_sleep(site);
	/* Before waiting, so a self-deadlock or an inverted order is reported
	 * instead of hanging silently. */
	lock_acquire(&m->dep_map, subclass, false, false, site, LOCKDEP_RET_IP);
	if (mutex_try_take(m))
		return;
	sched_wait_note(m->dep_map.name, "mutex");
	__wait_event(&m->wait, mutex_try_take(m));
	sched_wait_note(NULL, NULL);
}

bool mutex_trylock_at(struct mutex *m, const char *site)
{
	if (!mutex_try_take(m))
		return false;
	lock_acquire(&m->dep_map, 0, false, true, site, LOCKDEP_RET_IP);
	return true;
}

void mutex_unlock_at(struct mutex *m, const char *site)
{
	struct task *owner = __atomic_load_n(&m->owner, __ATOMIC_RELAXED);

	if (!owner) {
		/* Nothing to release; clearing would be a no-op but the caller's
		 * bookkeeping is wrong. */
		lockdep_report_misuse("unlock-unlocked", &m->dep_map, site,
				      "mutex_unlock of a mutex that is not locked");
		return;
	}
	if (owner != current_task()) {
		/* Release anyway (the system must go on), but the owner's held
		 * stack still lists it: lockdep is imprecise after this. */
		lockdep_report_misuse("unlock-not-owner", &m->dep_map, site,
				      "mutex_unlock by a task that does not own the mutex");
	} else {
		lock_release(&m->dep_map, site, LOCKDEP_RET_IP);
	}
	__atomic_store_n(&m->owner, NULL, __ATOMIC_RELEASE);
	if (wq_has_sleeper(&m->wait))
		wake_up_one(&m->wait);
}

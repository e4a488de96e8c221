/*
 * Sleeping mutexes: one owner at a time; a contending task sleeps instead of
 * spinning, so the holder may itself sleep (allocate, wait for another CPU).
 * Never from interrupt context or with preemption/interrupts disabled:
 * mutex_lock() calls might_sleep() first, which reports such callers even
 * when the mutex happens to be free.
 *
 * The owner is a task pointer, swapped in with one compare-and-exchange on
 * the uncontended path; waiters queue on a wait queue and retry when the
 * owner leaves (no hand-off: a running task may take the mutex before a woken
 * one, which keeps the fast path a single atomic).
 *
 * Debug checks (through lockdep, reported, never fatal): recursive locking
 * (lockdep's same-class check fires before the task deadlocks on itself),
 * unlock of a mutex the task does not own, unlock of an unlocked mutex.
 */
#ifndef VIGIL_MUTEX_H
#define VIGIL_MUTEX_H

#include <vigil/lockdep.h>
#include <vigil/sched.h>
#include <vigil/waitqueue.h>

struct mutex {
	struct task *owner;          /* NULL when unlocked */
	struct wait_queue_head wait;
	struct lockdep_map dep_map;
};

#define __MUTEX_INITIALIZER(name) {                                          \
	.owner = NULL,                                                        \
	.wait = WAIT_QUEUE_HEAD_INITIALIZER((name).wait),                     \
	.dep_map = LOCKDEP_MAP_INIT(#name),                                   \
}
#define DEFINE_MUTEX(name) struct mutex name = __MUTEX_INITIALIZER(name)

void __mutex_init(struct mutex *m, const char *name, const struct lock_class_key *key);
#define mutex_init(m) do {                                                   \
	static struct lock_class_key __key;                                   \
	__mutex_init((m), #m, &__key);                                        \
} while (0)

void mutex_lock_at(struct mutex *m, unsigned subclass, const char *site);
bool mutex_trylock_at(struct mutex *m, const char *site);
void mutex_unlock_at(struct mutex *m, const char *site);

#define mutex_lock(m)              mutex_lock_at((m), 0, LOCKDEP_SITE)
#define mutex_lock_nested(m, sub)  mutex_lock_at((m), (sub), LOCKDEP_SITE)
#define mutex_trylock(m)           mutex_trylock_at((m), LOCKDEP_SITE)
#define mutex_unlock(m)            mutex_unlock_at((m), LOCKDEP_SITE)

static inline bool mutex_is_locked(struct mutex *m)
{
	return __atomic_load_n(&m->owner, __ATOMIC_RELAXED) != NULL;
}

/* The owning task (NULL if unlocked); a snapshot, for diagnostics. */
static inline struct task *mutex_owner(struct mutex *m)
{
	return __atomic_load_n(&m->owner, __ATOMIC_RELAXED);
}

#endif

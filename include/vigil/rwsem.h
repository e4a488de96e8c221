/*
 * Read-write semaphores: many readers or one writer, sleeping.
 *
 * Fair, FIFO, writer-preferring: once anyone waits, new arrivals queue behind
 * them, so a waiting writer blocks new readers (no writer starvation) and the
 * readers queued behind a writer run after it, together (no reader
 * starvation).  When the semaphore becomes free the head of the queue is
 * granted it directly: a writer, or the run of consecutive readers at the
 * head.  The consequence lockdep relies on: down_read() while already holding
 * the same semaphore for read deadlocks as soon as a writer waits in between,
 * so read acquisitions are ordered like writes (see lockdep.h).
 *
 * All state sits behind a raw spinlock (a leaf, interrupts off): rw-semaphores
 * are taken where sleeping is allowed anyway, so the simple locked state
 * machine is preferred over lock-free counting.
 */
#ifndef VIGIL_RWSEM_H
#define VIGIL_RWSEM_H

#include <vigil/list.h>
#include <vigil/lockdep.h>
#include <vigil/sched.h>
#include <vigil/spinlock.h>

struct rw_semaphore {
	raw_spinlock_t wait_lock;
	int count;                 /* >0: that many readers; -1: a writer; 0: free */
	struct task *owner;        /* the writer, for diagnostics */
	struct list_head waiters;  /* of struct rwsem_waiter, FIFO */
	struct lockdep_map dep_map;
};

#define __RWSEM_INITIALIZER(name) {                                          \
	.wait_lock = RAW_SPIN_LOCK_UNLOCKED, .count = 0, .owner = NULL,       \
	.waiters = LIST_HEAD_INIT((name).waiters),                            \
	.dep_map = LOCKDEP_MAP_INIT(#name),                                   \
}
#define DECLARE_RWSEM(name) struct rw_semaphore name = __RWSEM_INITIALIZER(name)

void __init_rwsem(struct rw_semaphore *s, const char *name, const struct lock_class_key *key);
#define init_rwsem(s) do {                                                   \
	static struct lock_class_key __key;                                   \
	__init_rwsem((s), #s, &__key);                                        \
} while (0)

void down_read_at(struct rw_semaphore *s, unsigned subclass, const char *site);
bool down_read_trylock_at(struct rw_semaphore *s, const char *site);
void up_read_at(struct rw_semaphore *s, const char *site);
void down_write_at(struct rw_semaphore *s, unsigned subclass, const char *site);
bool down_write_trylock_at(struct rw_semaphore *s, const char *site);
/* down_write that gives up when *abort becomes non-zero: whoever sets it
 * wakes the waiter (wake_up_task()).  Returns 0 with the semaphore held for
 * write, or -1 without it (the queue behind it moves on).  For a writer that
 * may be part of a deadlock it is meant to show, not to cause. */
int down_write_abortable_at(struct rw_semaphore *s, const int *abort, const char *site);
void up_write_at(struct rw_semaphore *s, const char *site);

#define down_read(s)              down_read_at((s), 0, LOCKDEP_SITE)
#define down_read_nested(s, sub)  down_read_at((s), (sub), LOCKDEP_SITE)
#define down_read_trylock(s)      down_read_trylock_at((s), LOCKDEP_SITE)
#define up_read(s)                up_read_at((s), LOCKDEP_SITE)
#define down_write(s)             down_write_at((s), 0, LOCKDEP_SITE)
#define down_write_nested(s, sub) down_write_at((s), (sub), LOCKDEP_SITE)
#define down_write_trylock(s)     down_write_trylock_at((s), LOCKDEP_SITE)
#define down_write_abortable(s, abort) down_write_abortable_at((s), (abort), LOCKDEP_SITE)
#define up_write(s)               up_write_at((s), LOCKDEP_SITE)

/* Snapshots, for diagnostics and tests. */
bool rwsem_is_locked(struct rw_semaphore *s);
bool rwsem_has_waiters(struct rw_semaphore *s);

#endif

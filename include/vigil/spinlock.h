/*
 * Spinlocks: a FIFO ticket lock (waiters are served in arrival order, so no
 * CPU starves under contention), held with preemption disabled -- a task
 * holding a spinlock must never be switched out, or a waiter on another CPU
 * would spin for a whole time slice, and on the same CPU forever.
 *
 * Three layers:
 *   __raw_spin_lock()     the bare ticket lock: no preemption change, no
 *                         lockdep.  For the scheduler's own locks (run queues,
 *                         the task list, sleepers: the scheduler manages
 *                         preemption itself, and a run-queue lock is held
 *                         across a context switch), the cross-CPU call
 *                         queues, the memory allocators (they run before
 *                         there is a current task whose preemption count
 *                         raw_spin_lock() could raise) and panic/NMI paths.
 *   raw_spin_lock()       + preempt_disable.  No lockdep: for lockdep's own
 *                         state, printk/console paths, and the short internal
 *                         leaf locks of the sleeping primitives.
 *   spin_lock()           + lockdep.  What everything else uses.
 * Each has _irqsave/_irqrestore forms that also disable interrupts on this
 * CPU (needed when an interrupt handler may take the same lock).
 *
 * Sites: the spin_lock() family are macros that pass LOCKDEP_SITE, so lockdep
 * reports name the line that took the lock.
 */
#ifndef VIGIL_SPINLOCK_H
#define VIGIL_SPINLOCK_H

#include <vigil/arch.h>
#include <vigil/atomic.h>
#include <vigil/lockdep.h>
#include <vigil/sched.h>
#include <vigil/types.h>

typedef struct raw_spinlock {
	uint32_t next;   /* next ticket to hand out */
	uint32_t owner;  /* ticket being served; == next when free */
	struct task *holder; /* who holds it (raw_spin_lock*), for hang reports */
	struct task *last_unlocker; /* ... and who released it last */
} raw_spinlock_t;

#define RAW_SPIN_LOCK_UNLOCKED { 0, 0, NULL, NULL }
#define DEFINE_RAW_SPINLOCK(name) raw_spinlock_t name = RAW_SPIN_LOCK_UNLOCKED

static inline void raw_spin_lock_init(raw_spinlock_t *l)
{
	__atomic_store_n(&l->next, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
	l->holder = NULL;
}

/* A ticket the owner has gone past: an unlock by someone who did not hold
 * the lock.  Reports it (once) and never returns normally. */
void raw_spin_ticket_passed(raw_spinlock_t *l, uint32_t me, uint32_t owner);

static inline void __raw_spin_lock(raw_spinlock_t *l)
{
	uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	/* Only the holder writes owner, so waiters just read it; the acquire
	 * pairs with the release in unlock to hand the critical section on. */
	for (;;) {
		uint32_t o = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
		if (o == me)
			break;
		if ((int32_t)(o - me) > 0)
			raw_spin_ticket_passed(l, me, o);
		cpu_relax();
	}
}

/* Succeeds only when nobody holds or waits: take ticket `owner` iff next
 * still equals it (next never moves back, so owner cannot have moved).  The
 * acquire is on the load of owner: that is what the last holder released
 * (the exchange on next only orders us against other lockers). */
static inline bool __raw_spin_trylock(raw_spinlock_t *l)
{
	uint32_t t = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);

	return __atomic_compare_exchange_n(&l->next, &t, t + 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static inline void __raw_spin_unlock(raw_spinlock_t *l)
{
	uint32_t o = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);

	__atomic_store_n(&l->owner, o + 1, __ATOMIC_RELEASE);
}

static inline bool raw_spin_is_locked(raw_spinlock_t *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->next, __ATOMIC_RELAXED);
}

static inline void raw_spin_lock(raw_spinlock_t *l)
{
	preempt_disable();
	__raw_spin_lock(l);
	l->holder = current_task();
}

static inline bool raw_spin_trylock(raw_spinlock_t *l)
{
	preempt_disable();
	if (__raw_spin_trylock(l)) {
		l->holder = current_task();
		return true;
	}
	preempt_enable();
	return false;
}

static inline void raw_spin_unlock(raw_spinlock_t *l)
{
	l->last_unlocker = current_task();
	l->holder = NULL;
	__raw_spin_unlock(l);
	preempt_enable();
}

static inline unsigned long _raw_spin_lock_irqsave(raw_spinlock_t *l)
{
	unsigned long flags = arch_irq_save();

	raw_spin_lock(l);
	return flags;
}
#define raw_spin_lock_irqsave(l, flags) ((flags) = _raw_spin_lock_irqsave(l))

static inline void raw_spin_unlock_irqrestore(raw_spinlock_t *l, unsigned long flags)
{
	l->last_unlocker = current_task();
	l->holder = NULL;
	__raw_spin_unlock(l);
	arch_irq_restore(flags);
	preempt_enable();
}

/* The bare lock with interrupts off on this CPU, for bare locks an interrupt
 * handler may take.  With interrupts off nothing can preempt the holder, so
 * no preemption count is needed. */
static inline unsigned long __raw_spin_lock_irqsave_ret(raw_spinlock_t *l)
{
	unsigned long flags = arch_irq_save();

	__raw_spin_lock(l);
	return flags;
}
#define __raw_spin_lock_irqsave(l, flags) ((flags) = __raw_spin_lock_irqsave_ret(l))

static inline void __raw_spin_unlock_irqrestore(raw_spinlock_t *l, unsigned long flags)
{
	__raw_spin_unlock(l);
	arch_irq_restore(flags);
}

/* ---- spinlock_t: the lockdep-tracked spinlock ---- */

typedef struct spinlock {
	raw_spinlock_t raw;
	struct lockdep_map dep_map;
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED(name) \
	{ .raw = RAW_SPIN_LOCK_UNLOCKED, .dep_map = LOCKDEP_MAP_INIT(#name) }
#define DEFINE_SPINLOCK(name) spinlock_t name = __SPIN_LOCK_UNLOCKED(name)

void __spin_lock_init(spinlock_t *l, const char *name, const struct lock_class_key *key);
#define spin_lock_init(l) do {                                                \
	static struct lock_class_key __key;                                    \
	__spin_lock_init((l), #l, &__key);                                     \
} while (0)

void spin_lock_at(spinlock_t *l, unsigned subclass, const char *site);
bool spin_trylock_at(spinlock_t *l, const char *site);
void spin_unlock_at(spinlock_t *l, const char *site);
unsigned long spin_lock_irqsave_at(spinlock_t *l, unsigned subclass, const char *site);
void spin_unlock_irqrestore_at(spinlock_t *l, unsigned long flags, const char *site);
bool spin_trylock_irqsave_at(spinlock_t *l, unsigned long *flags, const char *site);

#define spin_lock(l)                 spin_lock_at((l), 0, LOCKDEP_SITE)
#define spin_lock_nested(l, sub)     spin_lock_at((l), (sub), LOCKDEP_SITE)
#define spin_trylock(l)              spin_trylock_at((l), LOCKDEP_SITE)
#define spin_unlock(l)               spin_unlock_at((l), LOCKDEP_SITE)
#define spin_lock_irqsave(l, flags)  ((flags) = spin_lock_irqsave_at((l), 0, LOCKDEP_SITE))
#define spin_lock_irqsave_nested(l, flags, sub) \
	((flags) = spin_lock_irqsave_at((l), (sub), LOCKDEP_SITE))
#define spin_unlock_irqrestore(l, flags) spin_unlock_irqrestore_at((l), (flags), LOCKDEP_SITE)
#define spin_trylock_irqsave(l, flags) spin_trylock_irqsave_at((l), &(flags), LOCKDEP_SITE)

static inline bool spin_is_locked(spinlock_t *l)
{
	return raw_spin_is_locked(&l->raw);
}

#endif

/*
 * The lock both memory allocators use: a test-and-test-and-set spinlock that
 * also disables interrupts, so an interrupt handler on the same CPU that
 * allocates cannot deadlock against the code it interrupted.
 *
 * Kept here, in one place, until the kernel's spinlock type exists; then this
 * file becomes a thin wrapper around it (and gains lockdep).
 */
#ifndef CORE_MM_LOCK_H
#define CORE_MM_LOCK_H

#include <vigil/arch.h>

struct mm_lock {
	int locked;
};

static inline unsigned long mm_lock(struct mm_lock *l)
{
	unsigned long flags = arch_irq_save();

	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
		/* Spin on a plain load so waiters do not bounce the cache line. */
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			;
	}
	return flags;
}

static inline void mm_unlock(struct mm_lock *l, unsigned long flags)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	arch_irq_restore(flags);
}

#endif

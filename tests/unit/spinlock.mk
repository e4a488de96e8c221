# Spinlocks (ticket, raw and lockdep-tracked, irqsave): mutual exclusion under
# real contention, trylock, preemption/interrupt state.  ThreadSanitizer.
UNIT_TESTS += spinlock
spinlock_SRCS = tests/unit/test_spinlock.c $(SYNC_HOST_SRCS)
spinlock_SAN := thread

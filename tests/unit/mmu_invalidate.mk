# Invalidation of guest memory while slots change (core/virt/mmu_invalidate.c,
# the real code, driven through the fake VM of core/virt/mmu_inval_fakevm.c)
# on threads under ThreadSanitizer: a nested start with a swap queued
# completes (count design) and deadlocks in the rwsem design (lockdep's
# recursive-read report, then the abortable swap recovers); a swap waits for
# the count to reach zero; start/end balance, and the check catching the
# imbalance a swap between start and end causes (the broken no-wait
# variant); fault retry semantics (seq moved, range covered, retry until
# the end, the new frame installed); a stress of invalidators, nested
# invalidations, faults and swaps with no mismatch and no stale mapping.
UNIT_TESTS += mmu_invalidate
mmu_invalidate_SRCS = tests/unit/test_mmu_invalidate.c core/virt/mmu_invalidate.c core/virt/mmu_inval_fakevm.c \
	$(SYNC_HOST_SRCS)
mmu_invalidate_SAN := thread
mmu_invalidate_CFLAGS := -Icore/virt

# Memory slots (core/virt/memslot_*.c, the real code) on the real page
# allocator and heap over fake physical memory: every named error changes
# nothing, 512 slots then one more, split/merge/resize/move keep the guest's
# bytes by sharing frames, the inhibit decision, the publish step's order.
UNIT_TESTS += memslot
memslot_SRCS := tests/unit/test_memslot.c tests/unit/mm_host.c core/mm/page_alloc.c core/mm/heap.c \
	core/virt/memslot_frame.c core/virt/memslot_set.c core/virt/memslot_txn.c core/virt/memslot_parse.c \
	core/virt/memslot_pair.c core/lib/why.c core/lib/kstrto.c

# The publish step under reader threads (ThreadSanitizer): the range being
# split, merged, resized and moved never goes missing and its bytes never
# change for a reader, across thousands of updates.
UNIT_TESTS += memslot_threads
memslot_threads_SRCS := tests/unit/test_memslot_threads.c tests/unit/mm_host.c core/mm/page_alloc.c core/mm/heap.c \
	core/virt/memslot_frame.c core/virt/memslot_set.c core/virt/memslot_txn.c core/virt/memslot_parse.c \
	core/virt/memslot_pair.c core/lib/why.c core/lib/kstrto.c
memslot_threads_SAN := thread

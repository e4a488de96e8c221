# kmalloc/kfree on top of the real page allocator, over fake physical memory.
UNIT_TESTS += heap
heap_SRCS := tests/unit/test_heap.c tests/unit/mm_host.c core/mm/page_alloc.c core/mm/heap.c

# The buddy page allocator, over fake physical memory (tests/unit/mm_host.c).
UNIT_TESTS += page_alloc
page_alloc_SRCS := tests/unit/test_page_alloc.c tests/unit/mm_host.c core/mm/page_alloc.c

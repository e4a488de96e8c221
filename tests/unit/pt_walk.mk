# The page-table walker of arch/x86/mm/pt_walk.c (the real arch code: pure
# logic over the pages struct pt_mem hands out, so it compiles for the host
# with arch/x86/include on the path) over malloc'd pages, in the three entry
# formats it serves: host paging, EPT and nested paging.
UNIT_TESTS += pt_walk
pt_walk_SRCS = tests/unit/test_pt_walk.c arch/x86/mm/pt_walk.c core/lib/why.c
pt_walk_CFLAGS := -Iarch/x86/include

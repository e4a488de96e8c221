# Completions: complete before wait, complete_all, counting, try/reinit,
# stress.  ThreadSanitizer.
UNIT_TESTS += completion
completion_SRCS = tests/unit/test_completion.c $(SYNC_HOST_SRCS)
completion_SAN := thread

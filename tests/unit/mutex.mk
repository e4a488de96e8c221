# Sleeping mutexes: exclusion under contention (with real sleeping), trylock,
# owner tracking.  ThreadSanitizer.
UNIT_TESTS += mutex
mutex_SRCS = tests/unit/test_mutex.c $(SYNC_HOST_SRCS)
mutex_SAN := thread

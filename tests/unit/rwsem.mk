# rw-semaphores: readers share, writers exclude, a waiting writer blocks new
# readers (deterministic), FIFO hand-off, stress, an abortable writer that
# leaves the queue and lets the readers behind it in.  ThreadSanitizer.
UNIT_TESTS += rwsem
rwsem_SRCS = tests/unit/test_rwsem.c $(SYNC_HOST_SRCS)
rwsem_SAN := thread

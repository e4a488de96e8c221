# Wait queues: no lost wake-up under a ping-pong stress, wake_up_one wakes
# one, wake_up_all wakes all.  ThreadSanitizer.
UNIT_TESTS += waitqueue
waitqueue_SRCS = tests/unit/test_waitqueue.c $(SYNC_HOST_SRCS)
waitqueue_SAN := thread

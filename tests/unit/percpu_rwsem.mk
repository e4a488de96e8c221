# Per-CPU rw-semaphore and the CPU-hotplug lock: rw semantics, a pending
# writer blocks new readers, unlock on another CPU, stress.  ThreadSanitizer.
UNIT_TESTS += percpu_rwsem
percpu_rwsem_SRCS = tests/unit/test_percpu_rwsem.c $(SYNC_HOST_SRCS)
percpu_rwsem_SAN := thread

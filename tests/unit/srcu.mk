# SRCU: grace periods wait for (sleeping, migrating) readers that began
# before them and not for later ones, a published pointer swapped, waited
# for and poisoned under readers on four CPUs, and the lockdep checks
# (synchronize inside its own read section, reader/updater lock cycles).
# ThreadSanitizer.
UNIT_TESTS += srcu
srcu_SRCS = tests/unit/test_srcu.c $(SYNC_HOST_SRCS)
srcu_SAN := thread

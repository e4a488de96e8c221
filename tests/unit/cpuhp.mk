# The CPU-hotplug state machine (core/hotplug/hotplug.c, the real code,
# compiled into tests/unit/host_cpuhp.c with the host's arch and scheduler
# hooks) on host_smp's fake CPUs under ThreadSanitizer, with the real
# virtualization usage core behind its ONLINE state: callback order and
# context, rollback of a vetoed online, registration on every online CPU,
# virtualization following hotplug, and random hotplug racing virt_get/put,
# state registration and the `virt_usage` invariant.
UNIT_TESTS += cpuhp
cpuhp_SRCS = tests/unit/test_cpuhp.c tests/unit/host_cpuhp.c core/hotplug/hotadd.c tests/unit/host_virt.c core/virt/usage.c \
	core/virt/compat.c $(VIRT_LIFECYCLE_SRCS) core/inject.c core/check.c $(HOST_SMP_SRCS) $(SYNC_HOST_SRCS)
cpuhp_SAN := thread
cpuhp_CFLAGS := -Icore/virt

# Reboot and emergency disable in the virtualization usage core
# (core/virt/usage.c, the real code) on host_smp's fake CPUs under
# ThreadSanitizer: reboot waits for an enable under way and then disables
# every CPU; later enables (a new reference, a CPU coming online) are refused.
# Its own binary: usage.c's `rebooting` latch never clears in a process.
UNIT_TESTS += virt_reboot
virt_reboot_SRCS = tests/unit/test_virt_reboot.c tests/unit/host_virt.c tests/unit/host_cpuhp_none.c \
	core/virt/usage.c core/virt/compat.c $(VIRT_LIFECYCLE_SRCS) \
	core/inject.c core/check.c $(HOST_SMP_SRCS) $(SYNC_HOST_SRCS)
virt_reboot_SAN := thread
virt_reboot_CFLAGS := -Icore/virt

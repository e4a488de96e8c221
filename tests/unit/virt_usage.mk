# The virtualization usage core (core/virt/usage.c and compat.c, the real
# code) on fake CPUs under ThreadSanitizer: 0 -> 1 enables every online CPU
# and 1 -> 0 disables them, a failed enable rolls every CPU back, an
# incompatible CPU is refused naming the field, many tasks taking and dropping
# references with random failures while a checker evaluates the `virt_usage`
# invariant (core/check.c) throughout, and lockdep catching the old design's
# lock cycle.
#
# HOST_SMP_SRCS: cross-CPU calls on per-CPU worker threads (tests/unit/host_smp.c)
# and the real CPU table, whose `cpus` command brings the shell along.  Use it
# with SYNC_HOST_SRCS, and define vigil_version/vigil_commit in the test (the
# shell's `version`).  Recursive (=) like SYNC_HOST_SRCS.
HOST_SMP_SRCS = tests/unit/host_smp.c core/cpu_table.c core/lib/why.c core/console/shell.c core/console/shell_args.c core/console/shell_dispatch.c \
	core/console/shell_builtins.c core/console/line_editor.c core/console/autorun.c

# VIRT_LIFECYCLE_SRCS: the registration interfaces virt_init registers with
# (syscore ops, reboot notifiers, emergency callbacks) and the old lock
# design's replay.  Without core/hotplug, add tests/unit/host_cpuhp_none.c
# for the hotplug state registration.
VIRT_LIFECYCLE_SRCS = core/power/syscore.c core/reboot_notifier.c core/emergency.c core/virt/lock_order_replay.c

UNIT_TESTS += virt_usage
virt_usage_SRCS = tests/unit/test_virt_usage.c tests/unit/host_virt.c tests/unit/host_cpuhp_none.c \
	core/virt/usage.c core/virt/compat.c $(VIRT_LIFECYCLE_SRCS) \
	core/inject.c core/check.c $(HOST_SMP_SRCS) $(SYNC_HOST_SRCS)
virt_usage_SAN := thread
virt_usage_CFLAGS := -Icore/virt

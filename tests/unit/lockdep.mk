# Lockdep: cycles (two- and three-lock, both chains in the report, reported
# once), recursion, bad unlocks, might_sleep, the assertions, expect windows,
# lockdep=off.  AddressSanitizer + UBSan (the lock tests run lockdep under
# ThreadSanitizer).
#
# SYNC_HOST_SRCS: the real core/sync and core/lockdep code, printk and the
# boot parameters, on the host scheduler (tests/unit/host_sched.c); not the
# in-kernel self-tests and benches (*_selftest.c, *_bench.c: kthreads,
# real CPUs).  Every lock test links it.  Recursive (=) so the other .mk files may use it
# whatever the include order.
SYNC_HOST_SRCS = tests/unit/host_sched.c core/printk.c core/boot_params.c core/cmdline.c \
	core/lib/kstrto.c $(filter-out %_selftest.c %_bench.c,$(sort $(wildcard core/sync/*.c core/lockdep/*.c)))

UNIT_TESTS += lockdep
lockdep_SRCS = tests/unit/test_lockdep.c $(SYNC_HOST_SRCS)

# The console command, through the real shell.
UNIT_TESTS += lockdep_cmd
lockdep_cmd_SRCS = tests/unit/test_lockdep_cmd.c core/lockdep_cmd.c core/console/shell.c \
	core/console/shell_args.c core/console/shell_dispatch.c core/console/shell_builtins.c core/console/line_editor.c \
	core/console/autorun.c $(SYNC_HOST_SRCS)

/*
 * `crash <kind>`: deliberately stop the kernel, to test the fatal paths
 * (exception report with registers and backtrace, panic, machine stop and
 * QEMU's failure exit status).  Like Linux's sysrq crash trigger; it is a
 * test aid and says so in `help`.
 */
#include <vigil/panic.h>
#include <vigil/printk.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/sched.h>
#include <vigil/task.h>

static volatile uint64_t *volatile wild_pointer = (uint64_t *)0x10;

static __attribute__((noinline)) void crash_page_fault(void)
{
	*wild_pointer = 1;
}

static __attribute__((noinline)) void crash_invalid_opcode(void)
{
	__builtin_trap();
}

/* Deep recursion with a fat frame, in a thread of its own (a stack with a
 * guard page below): it must fault on the guard page at once. */
static volatile bool recurse_stop;

static __attribute__((noinline)) uint64_t crash_recurse(uint64_t depth)
{
	volatile uint64_t pad[64];
	pad[depth % 64] = depth;
	if (recurse_stop)
		return 0;
	return crash_recurse(depth + 1) + pad[depth % 64];
}

static void crash_stack_thread(void *arg)
{
	(void)arg;
	crash_recurse(0);
}

/* A thread that writes the bottom word of its own stack, as a stack used to
 * its last byte would, then sleeps for good: the scheduler reports it and
 * `check` fails from then on (the machine is damaged, as after any crash). */
static void crash_canary_thread(void *arg)
{
	(void)arg;
	struct task *me = current_task();
	*(volatile uint64_t *)me->stack_base = 0;
	for (;;) {
		set_current_state(TASK_BLOCKED);
		schedule();
	}
}


static int cmd_crash(struct shell_ctx *ctx, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "panic"))
		return crash_panic(ctx, argc - 2, argv + 2);
	if (argc != 2)
		return shell_usage(ctx);
	if (!strcmp(argv[1], "pagefault"))
		crash_page_fault();
	else if (!strcmp(argv[1], "ud"))
		crash_invalid_opcode();
	else if (!strcmp(argv[1], "stack")) {
		struct task *t = kthread_run(crash_stack_thread, NULL, TASK_ANY_CPU, "overflow");
		if (!t)
			return shell_error(ctx, "out of memory");
		sleep_ns(5000000000ULL);
	} else if (!strcmp(argv[1], "canary")) {
		if (!kthread_run(crash_canary_thread, NULL, TASK_ANY_CPU, "canary"))
			return shell_error(ctx, "out of memory");
		sleep_ns(100000000ULL);
		return 0;
	} else
		return shell_error(ctx, "bad value '%s' for <kind> (expected pagefault, ud, stack, canary or panic)",
				   argv[1]);
	return shell_error(ctx, "the crash did not happen");
}
SHELL_COMMAND_HELP(crash, "crash", "crash pagefault|ud|stack|canary|panic [cpu=<n>] [in=task|irq|nmi] [also=|slow=|stuck=<m>] [nested=1]",
		   "Test aid: stops the kernel through a page fault, an invalid opcode, a stack overflow\n"
		   "(a thread recursing into its guard page) or a panic; canary: a thread clobbers its stack's\n"
		   "bottom word and sleeps (the machine runs on, but `check` fails from then on).  The panic\n"
		   "options: on CPU n, in a cross-CPU call or an NMI; CPU m panicking too, answering the\n"
		   "panic's NMI late, or never; a panic inside panic (core/crash_panic.c).", cmd_crash);

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


static int crash_pagefault_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	crash_page_fault();
	return shell_error(ctx, "the crash did not happen");
}

static int crash_ud_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	crash_invalid_opcode();
	return shell_error(ctx, "the crash did not happen");
}

static int crash_stack_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!kthread_run(crash_stack_thread, NULL, TASK_ANY_CPU, "overflow"))
		return shell_error(ctx, "out of memory");
	sleep_ns(5000000000ULL);
	return shell_error(ctx, "the crash did not happen");
}

static int crash_canary_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!kthread_run(crash_canary_thread, NULL, TASK_ANY_CPU, "canary"))
		return shell_error(ctx, "out of memory");
	sleep_ns(100000000ULL);
	return 0;
}

static const struct shell_subcmd crash_subcmds[] = {
	SHELL_SUBCMD("pagefault", crash_pagefault_cmd, 0, 0),
	SHELL_SUBCMD("ud", crash_ud_cmd, 0, 0),
	SHELL_SUBCMD("stack", crash_stack_cmd, 0, 0),
	SHELL_SUBCMD("canary", crash_canary_cmd, 0, 0),
	SHELL_SUBCMD("panic", crash_panic, 0, SHELL_ARGS_ANY),
};
SHELL_CMD(crash, "crash pagefault|ud|stack|canary|panic [cpu=<n>] [in=task|irq|nmi] [also=|slow=|stuck=<m>] [nested=1]",
	  SHELL_SUBCMDS(crash_subcmds),
	  .help = "Test aid: stops the kernel through a page fault, an invalid opcode, a stack overflow\n"
		   "(a thread recursing into its guard page) or a panic; canary: a thread clobbers its stack's\n"
		   "bottom word and sleeps (the machine runs on, but `check` fails from then on).  The panic\n"
		   "options: on CPU n, in a cross-CPU call or an NMI; CPU m panicking too, answering the\n"
		   "panic's NMI late, or never; a panic inside panic (core/crash_panic.c).");

/*
 * `crash <kind>`: deliberately stop the kernel, to test the fatal paths
 * (exception report with registers and backtrace, panic, machine stop and
 * QEMU's failure exit status).  Like Linux's sysrq crash trigger; it is a
 * test aid and says so in `help`.
 */
#include <vigil/printk.h>
#include <vigil/shell.h>
#include <vigil/string.h>

static volatile uint64_t *volatile wild_pointer = (uint64_t *)0x10;

static __attribute__((noinline)) void crash_page_fault(void)
{
	*wild_pointer = 1;
}

static __attribute__((noinline)) void crash_invalid_opcode(void)
{
	__builtin_trap();
}

int crash_panic(struct shell_ctx *ctx, int argc, char **argv); /* core/crash_panic.c */

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
	else
		return shell_error(ctx, "bad value '%s' for <kind> (expected pagefault, ud or panic)", argv[1]);
	return shell_error(ctx, "the crash did not happen");
}
SHELL_COMMAND_HELP(crash, "crash", "crash pagefault|ud|panic [cpu=<n>] [in=task|irq|nmi] [also=|slow=|stuck=<m>] [nested=1]",
		   "Test aid: stops the kernel through a page fault, an invalid opcode or a panic.  The panic\n"
		   "options: on CPU n, in a cross-CPU call or an NMI; CPU m panicking too, answering the\n"
		   "panic's NMI late, or never; a panic inside panic (core/crash_panic.c).", cmd_crash);

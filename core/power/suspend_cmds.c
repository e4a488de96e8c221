/* Console: `suspend [sim|s3]` (docs/console.md) and the suspend bench. */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/suspend.h>
#include <vigil/virt.h>

static int cmd_suspend(struct shell_ctx *ctx, int argc, char **argv)
{
	if (argc > 2)
		return shell_usage(ctx);
	bool s3 = false;
	if (argc == 2) {
		if (!strcmp(argv[1], "s3"))
			s3 = true;
		else if (strcmp(argv[1], "sim"))
			return shell_error(ctx, "bad value '%s' for <mode> (expected sim or s3)", argv[1]);
	}
	char why[200];
	struct suspend_times t;
	if (suspend_cycle(s3, why, sizeof(why), &t) != 0)
		return shell_error(ctx, "%s", why);
	shell_printf(ctx, "mode=%s suspend_us=%lu resume_us=%lu\n", s3 ? "s3" : "sim",
		     (unsigned long)(t.suspend_ns / 1000), (unsigned long)(t.resume_ns / 1000));
	return 0;
}
SHELL_COMMAND_HELP(suspend, "suspend", "suspend [sim|s3]",
		   "One suspend/resume cycle: freeze freezable tasks, take the other CPUs offline,\n"
		   "syscore suspend on the boot CPU (virtualization off), sleep (simulated, or ACPI S3\n"
		   "woken by the platform), syscore resume, CPUs back online, thaw.",
		   cmd_suspend);

/* A full simulated cycle with one VM present (so virtualization is
 * disabled and re-enabled on every CPU), in microseconds. */
static unsigned bench_suspend_sim(uint64_t *samples, unsigned max)
{
	unsigned id;
	char why[160];
	if (vm_create(&id, why, sizeof(why)) != 0)
		return 0;
	unsigned n = 0;
	for (; n < max && n < 8; n++) {
		struct suspend_times t;
		uint64_t t0 = arch_time_ns();
		if (suspend_cycle(false, why, sizeof(why), &t) != 0)
			break;
		samples[n] = (arch_time_ns() - t0) / 1000;
	}
	vm_destroy(id, why, sizeof(why));
	return n;
}
BENCH(suspend_sim, "us", bench_suspend_sim);

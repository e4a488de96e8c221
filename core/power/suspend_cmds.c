/* Console: `suspend [sim|s3]` (docs/console.md) and the suspend bench. */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/suspend.h>
#include <vigil/virt.h>

static int cmd_suspend(struct shell_ctx *ctx, int argc, char **argv)
{
	bool s3 = false, hash = false, all = false;
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "hash=", 5)) {
			const char *v = argv[i] + 5;
			if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "all"))
				return shell_error(ctx, "bad value '%s' for hash= (expected 0, 1 or all)", v);
			hash = strcmp(v, "0") != 0;
			all = !strcmp(v, "all");
		} else if (i == 1 && !strcmp(argv[i], "s3")) {
			s3 = true;
		} else if (i > 1 || strcmp(argv[i], "sim")) {
			return shell_error(ctx, "bad value '%s' for <mode> (expected sim or s3)", argv[i]);
		}
	}
	char why[WHY_MAX];
	struct suspend_times t;
	unsigned checked = 0, changed = 0;
	int r = hash ? suspend_cycle_hashed(s3, all, why, sizeof(why), &t, &checked, &changed)
		     : suspend_cycle(s3, why, sizeof(why), &t);
	if (r != 0)
		return shell_error(ctx, "%s", why);
	char pages[64] = "";
	if (hash)
		snprintf(pages, sizeof(pages), " pages_checked=%u pages_changed=%u", checked, changed);
	shell_printf(ctx, "mode=%s suspend_us=%lu resume_us=%lu%s\n", s3 ? "s3" : "sim",
		     (unsigned long)(t.suspend_ns / 1000), (unsigned long)(t.resume_ns / 1000), pages);
	return 0;
}
SHELL_CMD(suspend, "suspend [sim|s3] [hash=1|all]", .run = cmd_suspend, .max_args = 2,
	  .help = "One suspend/resume cycle: freeze freezable tasks, take the other CPUs offline,\n"
		   "syscore suspend on the boot CPU (virtualization off), sleep (simulated, or ACPI S3\n"
		   "woken by the platform), syscore resume, CPUs back online, thaw.  hash=1: debug mode,\n"
		   "hash every kernel page before the sleep and log each one that changed, with its owner;\n"
		   "hash=all: every page of the allocator, free ones too (where the firmware writes).");

/* A full simulated cycle with one VM present (so virtualization is
 * disabled and re-enabled on every CPU), in microseconds. */
static unsigned bench_suspend_sim(uint64_t *samples, unsigned max)
{
	unsigned id;
	char why[WHY_MAX];
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

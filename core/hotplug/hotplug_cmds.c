/* Console: `cpu online <n>`, `cpu offline <n>` (docs/console.md). */
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/shell.h>
#include <vigil/string.h>

static int cmd_cpu(struct shell_ctx *ctx, int argc, char **argv)
{
	if (argc != 3)
		return shell_usage(ctx);
	bool up;
	if (!strcmp(argv[1], "online"))
		up = true;
	else if (!strcmp(argv[1], "offline"))
		up = false;
	else
		return shell_error(ctx, "bad value '%s' for <action> (expected online or offline)", argv[1]);
	uint64_t cpu;
	if (shell_arg_cpu(ctx, argv[2], "<n>", &cpu) != 0)
		return -1;
	char why[256];
	int r = up ? cpu_up((unsigned)cpu, why, sizeof(why)) : cpu_down((unsigned)cpu, why, sizeof(why));
	if (r != 0)
		return shell_error(ctx, "%s", why);
	return 0;
}
SHELL_COMMAND_HELP(cpu, "cpu", "cpu online|offline <n>",
		   "Take a CPU offline or bring it back online through the hotplug state machine\n"
		   "(PREPARE, STARTING, ONLINE steps; the ONLINE step enables virtualization when\n"
		   "it is in use and vetoes the online if the CPU is incompatible or fails).",
		   cmd_cpu);

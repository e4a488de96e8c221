/* Console: `cpu online <n>`, `cpu offline <n>` (docs/console.md). */
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/shell.h>
#include <vigil/string.h>

/* argv: "online" or "offline", then <n>. */
static int cpu_up_down_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	bool up = !strcmp(argv[0], "online");
	uint64_t cpu;
	if (shell_arg_cpu(ctx, argv[1], "<n>", &cpu) != 0)
		return -1;
	char why[WHY_MAX];
	int r = up ? cpu_up((unsigned)cpu, why, sizeof(why)) : cpu_down((unsigned)cpu, why, sizeof(why));
	if (r != 0)
		return shell_error(ctx, "%s", why);
	return 0;
}

static const struct shell_subcmd cpu_subcmds[] = {
	SHELL_SUBCMD("online", cpu_up_down_cmd, 1, 1),
	SHELL_SUBCMD("offline", cpu_up_down_cmd, 1, 1),
};
SHELL_CMD(cpu, "cpu online|offline <n>", SHELL_SUBCMDS(cpu_subcmds),
	  .help = "Take a CPU offline or bring it back online through the hotplug state machine\n"
		   "(PREPARE, STARTING, ONLINE steps; the ONLINE step enables virtualization when\n"
		   "it is in use and vetoes the online if the CPU is incompatible or fails).");

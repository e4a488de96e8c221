/* Console command: vcpu pin <vm>.<i> cpu=<n>|any. */
#include <vigil/cpu.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>

/* "<vm>.<i>" */
static bool parse_vcpu_id(const char *s, uint64_t *vm, uint64_t *index)
{
	uint64_t a = 0, b = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((a = a * 10 + (uint64_t)(*p - '0')) > UINT32_MAX)
			return false;
	if (*p++ != '.' || *p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((b = b * 10 + (uint64_t)(*p - '0')) > UINT32_MAX)
			return false;
	if (*p)
		return false;
	*vm = a;
	*index = b;
	return true;
}

static int vcpu_pin_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	uint64_t vm, index;
	const char *cpu_s = NULL;
	if (!parse_vcpu_id(argv[1], &vm, &index))
		return shell_error(ctx, "bad value '%s' for <vm>.<i> (expected e.g. 1.0)", argv[1]);
	const struct shell_opt opts[] = {
		SHELL_OPT_TEXT("cpu", &cpu_s),
	};
	if (shell_parse_opts(ctx, argc - 2, argv + 2, opts, ARRAY_SIZE(opts)))
		return -1;
	if (!cpu_s)
		return shell_error(ctx, "missing cpu=<n>|any");
	int cpu = TASK_ANY_CPU;
	if (strcmp(cpu_s, "any")) {
		uint64_t c;
		if (shell_arg_cpu(ctx, cpu_s, "cpu=", &c))
			return -1;
		cpu = (int)c;
	}
	char why[WHY_MAX];
	if (vcpu_pin((unsigned)vm, (unsigned)index, cpu, why, sizeof(why)) != 0)
		return shell_error(ctx, "%s", why);
	return 0;
}

static const struct shell_subcmd vcpu_subcmds[] = {
	SHELL_SUBCMD("pin", vcpu_pin_cmd, 1, 2),
};
SHELL_CMD(vcpu, "vcpu pin <vm>.<i> cpu=<n>|any", SHELL_SUBCMDS(vcpu_subcmds),
	  .help = "Pins a vCPU's task to an online CPU with virtualization enabled, or sets it free (any).  A CPU\n"
		   "going offline drops the pins to it (logged).");

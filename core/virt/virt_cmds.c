/* Console commands: virt, vm create|destroy|list|run. */
#include <vigil/console_input.h>
#include <vigil/cpu.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/vcpu.h>
#include <vigil/virt.h>
#include "virt_internal.h"

/* "0-3,5" from a per-CPU predicate. */
static void format_cpu_list(char *buf, size_t len, bool (*pred)(unsigned cpu))
{
	size_t pos = 0;
	buf[0] = 0;
	for (unsigned c = 0; c < nr_possible_cpus;) {
		if (!pred(c)) {
			c++;
			continue;
		}
		unsigned end = c;
		while (end + 1 < nr_possible_cpus && pred(end + 1))
			end++;
		int n = end == c ? snprintf(buf + pos, len - pos, "%s%u", pos ? "," : "", c)
				 : snprintf(buf + pos, len - pos, "%s%u-%u", pos ? "," : "", c, end);
		if (n < 0 || (size_t)n >= len - pos)
			break;
		pos += (size_t)n;
		c = end + 1;
	}
	if (!buf[0])
		strlcpy(buf, "none", len);
}

static bool cpu_virt_on(unsigned cpu)
{
	return virt_cpu_enabled(cpu);
}

static bool cpu_virt_degraded(unsigned cpu)
{
	return virt_cpu_degraded(cpu)[0] != 0;
}

static int virt_retry_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char why[WHY_MAX];
	if (virt_retry(why, sizeof(why)) != 0)
		return shell_error(ctx, "%s", why);
	return 0;
}

static int cmd_virt(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char list[256], degraded[64];
	format_cpu_list(list, sizeof(list), cpu_virt_on);
	format_cpu_list(degraded, sizeof(degraded), cpu_virt_degraded);
	const char *name = virt_backend_name();
	shell_printf(ctx, "vendor=%s usage=%u enabled=%s vms=%u degraded=%s\n", name ? name : "none",
		     virt_usage_count(), list, vm_count(), degraded);
	return 0;
}
static const struct shell_subcmd virt_subcmds[] = {
	SHELL_SUBCMD("retry", virt_retry_cmd, 0, 0),
};
SHELL_CMD(virt, "virt | virt retry", .run = cmd_virt, SHELL_SUBCMDS(virt_subcmds),
	  .help = "Shows the virtualization backend, the usage count, the CPUs where it is enabled and the\n"
		   "degraded ones (the boot CPU after a failed re-enable on resume; `cpus` says why).\n"
		   "virt retry enables it again there.");

static void list_one(const struct vm *vm, void *arg)
{
	uint64_t mem = 0;
	unsigned slots = 0;
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++)
		if (vm->slots[i].used) {
			slots++;
			mem += vm->slots[i].size;
		}
	shell_printf(arg, "vm=%u vcpus=%u slots=%u mem=%lu runs=%lu state=%s\n", vm->id, vm->nr_vcpus, slots,
		     (unsigned long)mem, (unsigned long)vm->runs, vm_state_name(vm->live_state));
}

static int vm_run_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	uint64_t id, cpu = 0, exits = 1000;
	const char *guest = "normal";
	if (shell_arg_u64_range(ctx, argv[1], "<id>", 1, UINT32_MAX, &id))
		return -1;
	const struct shell_opt opts[] = {
		SHELL_OPT_CPUNR("cpu", &cpu),
		SHELL_OPT_RANGE("exits", 1, 10000000, &exits),
		SHELL_OPT_TEXT("guest", &guest),
	};
	if (shell_parse_opts(ctx, argc - 2, argv + 2, opts, ARRAY_SIZE(opts)))
		return -1;
	struct vcpu_run run = { .max_exits = exits, .stop = console_interrupted };
	if (!strcmp(guest, "normal"))
		run.guest = GUEST_NORMAL;
	else if (!strcmp(guest, "wild"))
		run.guest = GUEST_WILD;
	else if (!strcmp(guest, "badinsn"))
		run.guest = GUEST_BAD_INSN;
	else if (!strcmp(guest, "spin"))
		run.guest = GUEST_SPIN;
	else if (!strcmp(guest, "probe"))
		run.guest = GUEST_PROBE;
	else
		return shell_error(ctx, "bad value '%s' for guest= (expected normal, wild, badinsn, spin or probe)",
				   guest);
	char why[WHY_MAX];
	if (vm_run((unsigned)id, (unsigned)cpu, &run, why, sizeof(why)) != 0)
		return shell_error(ctx, "%s", why);
	if (run.guest_failed)
		return shell_error(ctx, "vm %lu: guest stopped after %lu exits: %s; vm %lu destroyed", (unsigned long)id,
				   (unsigned long)run.exits, run.why, (unsigned long)id);
	if (run.requested)
		return shell_error(ctx, "stopped by a vCPU request after %lu of %lu exits; vm %lu kept",
				   (unsigned long)run.exits, (unsigned long)exits, (unsigned long)id);
	if (run.interrupted)
		return shell_error(ctx, "interrupted (Ctrl-C) after %lu of %lu exits; vm %lu kept", (unsigned long)run.exits,
				   (unsigned long)exits, (unsigned long)id);
	shell_printf(ctx, "vm=%lu cpu=%lu exits=%lu last_exit=%s ns_per_exit=%lu hypercalls=%lu intr_exits=%lu "
		     "timer_ticks=%lu mem_fault_exits=%lu\n",
		     (unsigned long)id, (unsigned long)cpu, (unsigned long)run.exits, vexit_name(run.last_exit),
		     (unsigned long)(run.exits ? run.guest_ns / run.exits : 0), (unsigned long)run.hypercalls,
		     (unsigned long)run.exit_count[VEXIT_INTR], (unsigned long)run.timer_ticks,
		     (unsigned long)run.exit_count[VEXIT_MEM_FAULT]);
	if (run.guest == GUEST_PROBE)
		shell_printf(ctx, "probe_memory=%lu probe_marker=%lu probe_other=%lu probe_last_pass=%lu probe_last_value=0x%lx "
			     "mmio_exits=%lu vm_mmio_exits=%lu\n",
			     (unsigned long)run.probe_memory, (unsigned long)run.probe_marker,
			     (unsigned long)run.probe_other, (unsigned long)run.probe_last_pass,
			     (unsigned long)run.probe_last_value, (unsigned long)run.mmio_exits,
			     (unsigned long)vm_mmio_exits((unsigned)id));
	return 0;
}

/* "<n>", "<n>K", "<n>M" (KiB, MiB; "KiB"/"MiB" too): bytes. */
static bool parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	unsigned shift = 0;
	if (*p == 'k' || *p == 'K')
		shift = 10;
	else if (*p == 'm' || *p == 'M')
		shift = 20;
	if (shift) {
		p++;
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B')
			p++;
	}
	if (*p || v > (UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

static int vm_create_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	char why[WHY_MAX];
	unsigned id;
	uint64_t vcpus = 1, mem = 0;
	const char *mem_s = NULL;
	bool vcpus_given = false;
	struct shell_opt opts[] = {
		SHELL_OPT_RANGE("vcpus", 1, nr_possible_cpus, &vcpus),
		SHELL_OPT_TEXT("mem", &mem_s),
	};
	opts[0].given = &vcpus_given;
	if (shell_parse_opts(ctx, argc - 1, argv + 1, opts, ARRAY_SIZE(opts)))
		return -1;
	if (mem_s && (!parse_size(mem_s, &mem) || mem == 0))
		return shell_error(ctx, "bad value '%s' for mem= (expected a size: <n>, <n>K or <n>M)", mem_s);
	int r = !vcpus_given && !mem_s ? vm_create(&id, why, sizeof(why))
				       : vm_create_live(&id, (unsigned)vcpus, mem, why, sizeof(why));
	if (r != 0)
		return shell_error(ctx, "%s", why);
	shell_printf(ctx, "vm=%u\n", id);
	return 0;
}

static int vm_destroy_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	char why[WHY_MAX];
	uint64_t id;
	if (shell_arg_u64_range(ctx, argv[1], "<id>", 1, UINT32_MAX, &id))
		return -1;
	if (vm_destroy((unsigned)id, why, sizeof(why)) != 0)
		return shell_error(ctx, "%s", why);
	return 0;
}

static int vm_list_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	vm_for_each(list_one, ctx);
	return 0;
}

static int vm_life_cmd(struct shell_ctx *ctx, char **argv, int (*op)(unsigned, char *, size_t))
{
	char why[WHY_MAX];
	uint64_t id;
	if (shell_arg_u64_range(ctx, argv[1], "<id>", 1, UINT32_MAX, &id))
		return -1;
	if (op((unsigned)id, why, sizeof(why)) != 0)
		return shell_error(ctx, "%s", why);
	return 0;
}

static int vm_start_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return vm_life_cmd(ctx, argv, vm_start);
}

static int vm_stop_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return vm_life_cmd(ctx, argv, vm_stop);
}

static int vm_pause_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return vm_life_cmd(ctx, argv, vm_pause);
}

static int vm_resume_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return vm_life_cmd(ctx, argv, vm_resume);
}

static void stat_line(const char *line, void *arg)
{
	shell_printf(arg, "%s", line);
}

static int vm_stat_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	char why[WHY_MAX];
	uint64_t id;
	if (shell_arg_u64_range(ctx, argv[1], "<id>", 1, UINT32_MAX, &id))
		return -1;
	if (vm_stat((unsigned)id, stat_line, ctx, why, sizeof(why)) != 0)
		return shell_error(ctx, "%s", why);
	return 0;
}

static const struct shell_subcmd vm_subcmds[] = {
	SHELL_SUBCMD("create", vm_create_cmd, 0, 2),
	SHELL_SUBCMD("destroy", vm_destroy_cmd, 1, 1),
	SHELL_SUBCMD("slot", vm_slot_cmd, 1, SHELL_ARGS_ANY),   /* vm_slot_cmds.c */
	SHELL_SUBCMD("mem", vm_mem_cmd, 1, SHELL_ARGS_ANY),
	SHELL_SUBCMD("list", vm_list_cmd, 0, 0),
	SHELL_SUBCMD("run", vm_run_cmd, 1, SHELL_ARGS_ANY),
	SHELL_SUBCMD("start", vm_start_cmd, 1, 1),
	SHELL_SUBCMD("stop", vm_stop_cmd, 1, 1),
	SHELL_SUBCMD("pause", vm_pause_cmd, 1, 1),
	SHELL_SUBCMD("resume", vm_resume_cmd, 1, 1),
	SHELL_SUBCMD("stat", vm_stat_cmd, 1, 1),
};
SHELL_CMD(vm, "vm create [vcpus=<n>] [mem=<size>] | vm destroy <id> | vm list | vm start|stop|pause|resume|stat <id> | "
	      "vm run <id> [cpu=<n>] [exits=<k>] [guest=normal|wild|badinsn|spin|probe]",
	  SHELL_SUBCMDS(vm_subcmds),
	  .help = "VMs hold a usage reference: the first one enables virtualization on every online CPU, the last "
		   "one to go disables it.  vm create makes a stopped VM (vcpus= vCPUs, mem= bytes of guest memory; "
		   "without either, the small one-vCPU VM of vm run); vm start runs each vCPU as a task "
		   "(vcpu<vm>.<i>) looping in the pattern guest until vm stop; vm stat shows them.  vm run runs the "
		   "built-in test guest on CPU n for k exits.");

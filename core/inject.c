/* Fault-injection points and the `inject` console command. */
#include <vigil/inject.h>
#include <vigil/printk.h>
#include <vigil/shell.h>
#include <vigil/string.h>

extern struct inject_point __start_inject_points[], __stop_inject_points[];

bool inject_hit(struct inject_point *p, unsigned cpu)
{
	if (!__atomic_load_n(&p->armed, __ATOMIC_ACQUIRE))
		return false;
	if (p->cpu != INJECT_ANY_CPU && (unsigned)p->cpu != cpu)
		return false;
	if (p->remaining > 0) {
		int64_t left = __atomic_sub_fetch(&p->remaining, 1, __ATOMIC_ACQ_REL);
		if (left < 0)
			return false;
		if (left == 0)
			__atomic_store_n(&p->armed, 0, __ATOMIC_RELEASE);
	}
	__atomic_add_fetch(&p->hits, 1, __ATOMIC_RELAXED);
	return true;
}

struct inject_point *inject_find(const char *name)
{
	for (struct inject_point *p = __start_inject_points; p < __stop_inject_points; p++)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

const struct inject_point *inject_first_armed(void)
{
	for (struct inject_point *p = __start_inject_points; p < __stop_inject_points; p++)
		if (__atomic_load_n(&p->armed, __ATOMIC_ACQUIRE))
			return p;
	return NULL;
}

void inject_clear_all(void)
{
	for (struct inject_point *p = __start_inject_points; p < __stop_inject_points; p++) {
		__atomic_store_n(&p->armed, 0, __ATOMIC_RELEASE);
		p->remaining = 0;
		p->cpu = INJECT_ANY_CPU;
	}
}

struct inject_point inject_arm_once(struct inject_point *p, unsigned cpu)
{
	struct inject_point old = *p;
	p->cpu = (int)cpu;
	p->remaining = 1;
	/* armed last: a hit on another CPU never sees the new count with the
	 * old CPU, or the reverse */
	__atomic_store_n(&p->armed, 1, __ATOMIC_RELEASE);
	return old;
}

void inject_restore(struct inject_point *p, const struct inject_point *old)
{
	p->cpu = old->cpu;
	p->remaining = old->remaining;
	__atomic_store_n(&p->armed, old->armed, __ATOMIC_RELEASE);
}

static int inject_list_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (struct inject_point *p = __start_inject_points; p < __stop_inject_points; p++) {
		char cpu[16] = "any";
		if (p->cpu != INJECT_ANY_CPU)
			snprintf(cpu, sizeof(cpu), "%d", p->cpu);
		shell_printf(ctx, "point=%s armed=%d cpu=%s remaining=%ld hits=%lu\n", p->name, p->armed, cpu,
			     (long)p->remaining, (unsigned long)p->hits);
	}
	return 0;
}

static int inject_clear_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	inject_clear_all();
	return 0;
}

/* "inject <point> [cpu=<n>] [count=<k>]": any word that is not a sub-command. */
static int cmd_inject(struct shell_ctx *ctx, int argc, char **argv)
{
	struct inject_point *p = inject_find(argv[1]);
	if (!p)
		return shell_error(ctx, "unknown injection point '%s' (try 'inject list')", argv[1]);
	uint64_t cpu = UINT64_MAX, count = 1;
	const struct shell_opt opts[] = {
		SHELL_OPT_CPUNR("cpu", &cpu),
		SHELL_OPT_RANGE("count", 0, 1000000, &count),
	};
	if (shell_parse_opts(ctx, argc - 2, argv + 2, opts, ARRAY_SIZE(opts)))
		return -1;
	p->cpu = cpu == UINT64_MAX ? INJECT_ANY_CPU : (int)cpu;
	p->remaining = (int64_t)count;
	__atomic_store_n(&p->armed, 1, __ATOMIC_RELEASE);
	return 0;
}
static const struct shell_subcmd inject_subcmds[] = {
	SHELL_SUBCMD("list", inject_list_cmd, 0, 0),
	SHELL_SUBCMD("clear", inject_clear_cmd, 0, 0),
};
SHELL_CMD(inject, "inject list | inject clear | inject <point> [cpu=<n>] [count=<k>]",
	  .run = cmd_inject, .min_args = 1, .max_args = SHELL_ARGS_ANY, SHELL_SUBCMDS(inject_subcmds),
	  .help = "Arms a fault-injection point for the next k hits (count=0: until cleared), on one CPU or any.");

/* The table of possible CPUs and the `cpus` console command. */
#include <vigil/cpu.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/virt.h>

unsigned nr_possible_cpus;
struct cpu_desc cpu_table[CONFIG_MAX_CPUS];
static unsigned cpu_limit = CONFIG_MAX_CPUS;

void cpu_set_limit(unsigned max)
{
	if (max >= 1 && max <= CONFIG_MAX_CPUS)
		cpu_limit = max;
}

int cpu_register(uint32_t apic_id, enum cpu_state state)
{
	if (nr_possible_cpus >= cpu_limit)
		return -1;
	struct cpu_desc *c = &cpu_table[nr_possible_cpus];
	c->apic_id = apic_id;
	c->state = state;
	return (int)nr_possible_cpus++;
}

unsigned cpu_count_in_state(enum cpu_state s)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nr_possible_cpus; i++)
		n += cpu_table[i].state == s;
	return n;
}

int cpu_find_by_apic_id(uint32_t apic_id)
{
	for (unsigned i = 0; i < nr_possible_cpus; i++)
		if (cpu_table[i].apic_id == apic_id)
			return (int)i;
	return -1;
}

int cpu_other_online(unsigned self)
{
	for (unsigned c = nr_possible_cpus; c-- > 0;)
		if (c != self && cpu_is_online(c))
			return (int)c;
	return -1;
}

const char *cpu_state_name(enum cpu_state s)
{
	switch (s) {
	case CPU_ONLINE: return "online";
	case CPU_OFFLINE: return "offline";
	case CPU_FAILED: return "failed";
	default: return "absent";
	}
}

static int cmd_cpus(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (unsigned i = 0; i < nr_possible_cpus; i++) {
		const struct cpu_desc *c = &cpu_table[i];
		shell_printf(ctx, "cpu=%u apic=%u state=%s virt=%s compat=%s%s%s\n", i, c->apic_id,
			     cpu_state_name(c->state), virt_cpu_enabled(i) ? "on" : "off", virt_cpu_compat(i),
			     virt_cpu_degraded(i)[0] ? " degraded=" : "", virt_cpu_degraded(i));
	}
	shell_printf(ctx, "online=%u possible=%u\n", cpu_count_in_state(CPU_ONLINE), nr_possible_cpus);
	return 0;
}
SHELL_CMD(cpus, "cpus", .run = cmd_cpus);

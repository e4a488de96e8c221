/*
 * Firmware CPU hot-add and hot-remove (include/vigil/cpuhp.h): a CPU the
 * platform inserts or asks to eject goes through the same hotplug walk as
 * `cpu online|offline`, so the virtualization step decides a hot-added CPU's
 * fate exactly as for any other: with VMs it must pass the compatibility
 * check and enable, or it stays offline with the reason; with none it comes
 * online unchecked and the next `vm create` checks it.
 */
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/printk.h>
#include <vigil/string.h>

static int find(uint32_t apic_id, unsigned *cpu, char *why, size_t len)
{
	int c = cpu_find_by_apic_id(apic_id);
	if (c < 0) {
		snprintf(why, len, "APIC ID %u is not a possible CPU (not in the MADT, or beyond maxcpus=)", apic_id);
		return -1;
	}
	*cpu = (unsigned)c;
	return 0;
}

int cpu_hot_add(uint32_t apic_id, unsigned *cpu, char *why, size_t len)
{
	if (find(apic_id, cpu, why, len) != 0)
		return -1;
	if (cpu_table[*cpu].state == CPU_ONLINE)
		return 0; /* already running: nothing to do */
	if (cpu_table[*cpu].state == CPU_ABSENT && cpu_set_present(*cpu, true, why, len) != 0)
		return -1;
	return cpu_up(*cpu, why, len);
}

int cpu_hot_remove(uint32_t apic_id, unsigned *cpu, char *why, size_t len)
{
	if (find(apic_id, cpu, why, len) != 0)
		return -1;
	if (cpu_table[*cpu].state == CPU_ABSENT)
		return 0; /* never came, or already gone */
	if (cpu_table[*cpu].state == CPU_ONLINE && cpu_down(*cpu, why, len) != 0)
		return -1;
	return cpu_set_present(*cpu, false, why, len);
}

/*
 * ACPI at boot: parse the tables (drivers/acpi) through the direct map, then
 * use what they say: the possible CPUs (MADT), the reset register (FADT),
 * the HPET for TSC calibration and the LAPIC address.  The sleep registers,
 * \_S3, \_S5 and the FACS are used by drivers/acpi/sleep.c.
 * A malformed table is reported with the parser's message, naming the table
 * and the fault; a fatal one leaves the machine running on the boot CPU alone.
 */
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/paging.h>
#include <asm/power.h>
#include <asm/time.h>
#include <asm/setup.h>
#include <vigil/acpi.h>
#include <vigil/boot_info.h>
#include <vigil/cpu.h>
#include <vigil/mm.h>
#include <vigil/printk.h>

struct acpi_info acpi;
bool acpi_ok;

static const void *direct_map(uint64_t phys, size_t len, void *ctx)
{
	(void)ctx;
	if (phys + len < phys || phys + len > direct_map_limit())
		return NULL;
	return phys_to_virt(phys);
}

static const struct acpi_mapper mapper = { direct_map, NULL };

static void use_fadt(void)
{
	if (!acpi.has_fadt)
		return;
	if (acpi.has_reset_reg) {
		power_regs.has_reset = true;
		power_regs.reset_space = acpi.reset_reg.space_id;
		power_regs.reset_addr = acpi.reset_reg.address;
		power_regs.reset_value = acpi.reset_value;
	}
}

static void register_cpus(void)
{
	uint32_t boot_apic = lapic_id();
	cpu_register(boot_apic, CPU_ONLINE);
	if (!acpi_ok)
		return;
	bool boot_listed = false;
	for (uint32_t i = 0; i < acpi.nr_cpus; i++) {
		const struct acpi_cpu *c = &acpi.cpus[i];
		if (c->apic_id == boot_apic) {
			boot_listed = true;
			continue;
		}
		if (cpu_register(c->apic_id, c->enabled ? CPU_OFFLINE : CPU_ABSENT) < 0) {
			printk("cpus: CPU with APIC ID %u not used (maxcpus= or table limit)\n", c->apic_id);
			continue;
		}
		/* x2APIC mode is required to address APIC IDs above 255 (SDM vol 3, 11.12). */
		if (c->apic_id > 255 && !apic_x2apic_mode) {
			if (!boot_cpu.x2apic)
				panic("cpus: APIC ID %u needs x2APIC, which this CPU lacks", c->apic_id);
			lapic_enable_x2apic();
			printk("lapic: switched to x2APIC mode for APIC ID %u\n", c->apic_id);
		}
	}
	/* A CPU the MADT lists with flags 0 is "not usable" (ACPI 6.5
	 * 5.2.12.2), but QEMU lists every CPU up to maxcpus that way and
	 * inserts them later through its CPU-hotplug block: with that block in
	 * the DSDT they are possible CPUs, absent until inserted (Linux too
	 * counts them as possible). */
	if (acpi.cpuhp_port)
		for (uint32_t i = 0; i < acpi.nr_disabled && i < ACPI_MAX_DISABLED_CPUS; i++)
			if (cpu_register(acpi.disabled[i].apic_id, CPU_ABSENT) < 0)
				printk("cpus: hot-pluggable CPU with APIC ID %u not used (maxcpus= or table limit)\n",
				       acpi.disabled[i].apic_id);
	if (!boot_listed)
		printk("acpi: MADT does not list the boot CPU (APIC ID %u)\n", boot_apic);
}

void x86_acpi_init(const struct boot_info *bi)
{
	char err[128];
	uint64_t rsdp = bi->rsdp_phys;
	if (!rsdp && acpi_find_rsdp_bios(&mapper, &rsdp) != 0)
		printk("acpi: no RSDP from the loader or in the BIOS areas\n");
	if (rsdp) {
		int r = acpi_parse(rsdp, &mapper, &acpi, err, sizeof(err));
		acpi_ok = r == 0;
		if (!acpi_ok)
			printk("acpi: error: %s; continuing with the boot CPU only\n", err);
	}
	for (uint32_t i = 0; i < acpi.nr_warnings && i < ACPI_MAX_WARNINGS; i++)
		printk("acpi: warning: %s\n", acpi.warnings[i]);
	if (acpi.warnings_lost)
		printk("acpi: %u more warnings not shown\n", acpi.warnings_lost);
	if (acpi_ok) {
		printk("acpi: %s rev %u, %u tables, %u possible CPUs (%u enabled), %u I/O APICs%s%s%s\n",
		       acpi.oem_id, acpi.rsdp_revision, acpi.nr_tables, acpi.nr_cpus, acpi.nr_cpus_enabled,
		       acpi.nr_ioapics, acpi.has_hpet ? ", HPET" : "", acpi.s3.valid ? ", S3" : "",
		       acpi.s5.valid ? ", S5" : "");
		use_fadt();
	}

	tsc_calibrate(acpi_ok && acpi.has_hpet ? acpi.hpet_base : 0);
	printk("tsc: %lu kHz (calibrated with the %s)\n", tsc_hz / 1000, tsc_calibration_source);
	lapic_init_bsp(acpi_ok ? acpi.lapic_phys : 0);
	printk("lapic: %s mode, boot CPU APIC ID %u\n", apic_x2apic_mode ? "x2APIC" : "xAPIC", lapic_id());
	register_cpus();
}

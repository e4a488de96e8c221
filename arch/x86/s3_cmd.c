/*
 * `s3`: a test and debug aid for the architecture half of ACPI S3 (s3.c),
 * usable before the real `suspend s3` (core/power) exists.  `s3 enter`
 * calls platform_sleep_enter() (include/vigil/platform_sleep.h: the device
 * callbacks and the S3 platform ops) directly from the console, so it
 * refuses unless the boot CPU is the only CPU online: nothing here takes
 * CPUs offline, freezes tasks or runs syscore callbacks.  The console task simply stops with
 * interrupts off while the machine sleeps, and carries on after the wake.
 */
#include <asm/apic.h>
#include <asm/percpu.h>
#include <asm/s3.h>
#include <vigil/acpi.h>
#include <vigil/acpi_sleep.h>
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/platform_sleep.h>
#include <vigil/printk.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/why.h>


static int s3_info(struct shell_ctx *ctx)
{
	char why[WHY_MAX];
	bool ok = platform_sleep_valid(why, sizeof(why)) == 0;
	shell_printf(ctx, "supported=%s slp_typa=%u slp_typb=%u pm1a_cnt=0x%lx pm1b_cnt=0x%lx facs=0x%lx facs_version=%u\n",
		     ok ? "yes" : "no", acpi.s3.slp_typa, acpi.s3.slp_typb, acpi.pm1a_cnt.address,
		     acpi.pm1b_cnt.address, acpi.facs_phys, acpi.facs_version);
	uint16_t cnt = acpi.pm1a_cnt.address ? acpi_pm1_cnt_read(false) : 0;
	shell_printf(ctx, "wakeups=%u ticks=%lu uptime_ms=%lu sci_en=%u\n", s3_wakeup_count(),
		     __atomic_load_n(&lapic_timer_ticks, __ATOMIC_RELAXED), arch_time_ns() / 1000000,
		     (cnt & ACPI_PM1_SCI_EN) ? 1 : 0);
	return 0;
}

static int s3_enter(struct shell_ctx *ctx)
{
	unsigned online = cpu_count_in_state(CPU_ONLINE);
	if (online != 1)
		return shell_error(ctx, "s3 enter needs the boot CPU alone online (%u CPUs online; boot with maxcpus=1)",
				   online);
	char why[WHY_MAX];
	if (platform_sleep_valid(why, sizeof(why)) != 0)
		return shell_error(ctx, "S3 not supported: %s", why);
	uint64_t ticks0 = __atomic_load_n(&lapic_timer_ticks, __ATOMIC_RELAXED);
	unsigned long flags = arch_irq_save();
	uint64_t t0 = arch_time_ns();
	int r = platform_sleep_enter(NULL, why, sizeof(why));
	uint64_t t1 = arch_time_ns();
	arch_irq_restore(flags);
	if (r != 0)
		return shell_error(ctx, "S3 not entered: %s", why);
	struct s3_times t;
	s3_last_times(&t);
	printk("s3: resumed after %lu ms (asleep and firmware %lu ms, restore %lu us)\n", (t1 - t0) / 1000000,
	       t.sleep_ns / 1000000, t.restore_ns / 1000);
	shell_printf(ctx, "s3=resumed cycle_us=%lu save_us=%lu sleep_us=%lu restore_us=%lu wakeups=%u ticks_before=%lu "
		     "pci_restored=%u sci_en_lost=%u tsc_restarted=%u\n",
		     (t1 - t0) / 1000, t.save_ns / 1000, t.sleep_ns / 1000, t.restore_ns / 1000, s3_wakeup_count(),
		     ticks0, s3_pci_restored_count(), s3_sci_en_was_lost() ? 1 : 0, s3_tsc_restarted() ? 1 : 0);
	return 0;
}

static int s3_info_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return s3_info(ctx);
}

static int s3_enter_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return s3_enter(ctx);
}

static const struct shell_subcmd s3_subcmds[] = {
	SHELL_SUBCMD("info", s3_info_cmd, 0, 0),
	SHELL_SUBCMD("enter", s3_enter_cmd, 0, 0),
};
SHELL_CMD(s3, "s3 info | s3 enter", SHELL_SUBCMDS(s3_subcmds),
	  .help = "Test aid for ACPI S3 on the boot CPU alone (the real command is 'suspend s3').\n"
		   "  s3 info   whether S3 is usable, the \\_S3 sleep types, wake-ups so far, timer ticks\n"
		   "  s3 enter  suspend to RAM and resume; under QEMU wake it with QMP system_wakeup\n");

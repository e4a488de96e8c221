/* Console commands that act on the whole machine: check, poweroff, reboot. */
#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/printk.h>
#include <vigil/reboot.h>
#include <vigil/shell.h>
#include <vigil/why.h>

/*
 * Before the machine goes down, every reboot notifier runs
 * (include/vigil/reboot.h).  Virtualization's turns it off on every CPU and
 * keeps it off: firmware and the next kernel get the CPUs back with INIT,
 * which Intel's virtualization root operation blocks (SDM vol 3C, 24.8, the
 * restrictions in that mode), and must not find the enable bits (CR4 or
 * EFER) still set by us.
 */

static int cmd_poweroff(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	reboot_notify("poweroff");
	printk("poweroff: powering off\n");
	arch_poweroff(0);
}
SHELL_CMD(poweroff, "poweroff", .run = cmd_poweroff);

static int cmd_reboot(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	reboot_notify("reboot");
	printk("reboot: restarting\n");
	arch_reboot();
}
SHELL_CMD(reboot, "reboot", .run = cmd_reboot);

/* A known degraded state: one data line, and still `ok`. */
static void print_degraded(const char *name, const char *what, void *ctx)
{
	shell_printf(ctx, "degraded=%s %s\n", name, what);
}

static int cmd_check(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char why[WHY_MAX];
	if (invariants_check_noted(why, sizeof(why), print_degraded, ctx) != 0)
		return shell_error(ctx, "%s", why);
	return 0;
}
SHELL_CMD(check, "check", .run = cmd_check,
	  .help = "Checks every invariant; error: names the first one violated.  A known degraded state\n"
		   "(the boot CPU left without virtualization by a failed re-enable on resume) is a\n"
		   "data line degraded=<invariant> cpu=<n> reason=<why>, and the status stays ok.");

/* Console commands that act on the whole machine: check, poweroff, reboot. */
#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/printk.h>
#include <vigil/shell.h>

static int cmd_poweroff(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return shell_usage(ctx);
	printk("poweroff: powering off\n");
	arch_poweroff(0);
}
SHELL_COMMAND(poweroff, "poweroff", "poweroff", cmd_poweroff);

static int cmd_reboot(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return shell_usage(ctx);
	printk("reboot: restarting\n");
	arch_reboot();
}
SHELL_COMMAND(reboot, "reboot", "reboot", cmd_reboot);

static int cmd_check(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return shell_usage(ctx);
	char why[160];
	if (invariants_check(why, sizeof(why)) != 0)
		return shell_error(ctx, "%s", why);
	return 0;
}
SHELL_COMMAND(check, "check", "check", cmd_check);

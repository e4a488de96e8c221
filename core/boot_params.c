/*
 * The kernel's boot parameters: their defaults, the one parsed instance the
 * rest of the kernel reads, and the parameters whose owners are generic
 * kernel-wide settings.  Parameters with an obvious owner register there
 * instead (console= in core/console/console_param.c, autorun= in
 * core/console/autorun.c, virt= in the architecture's virtualization code).
 */
#include <vigil/cmdline.h>
#include <vigil/config.h>
#include <vigil/string.h>

#define BOOT_PARAMS_DEFAULTS {                                                   \
	.console = {                                                             \
		/* Every console device there is: the framebuffer one is only  \
		 * used when the loader found a framebuffer. */                  \
		.devices = BOOT_CONSOLE_SERIAL | BOOT_CONSOLE_FB,                \
		.serial_kind = BOOT_SERIAL_IO,                                   \
		.serial_base = BOOT_SERIAL_DEFAULT_PORT,                         \
	},                                                                       \
	.maxcpus = CONFIG_MAX_CPUS,                                              \
	.loglevel = BOOT_LOGLEVEL_MAX, /* everything but debug, as Linux */      \
	.smp_progress_ms = 2000,                                                 \
	.lockdep = true,               /* on in every boot the tests run */      \
	.quiet = false,                                                          \
	.virt = "auto",                                                          \
	.memslot_inval = "count",                                                \
}

static const struct boot_params defaults = BOOT_PARAMS_DEFAULTS;
static struct boot_params params = BOOT_PARAMS_DEFAULTS;
static struct cmdline_errors errors;

void boot_params_defaults(struct boot_params *bp)
{
	*bp = defaults;
}

void boot_params_init(const char *cmdline)
{
	boot_params_defaults(&params);
	strlcpy(params.cmdline, cmdline ? cmdline : "", sizeof(params.cmdline));
	cmdline_parse(cmdline, &params, &errors);
}

const struct boot_params *boot_params(void)
{
	return &params;
}

const struct cmdline_errors *boot_params_errors(void)
{
	return &errors;
}

BOOT_PARAM_UINT(maxcpus, 1, CONFIG_MAX_CPUS);
BOOT_PARAM_UINT(loglevel, 0, BOOT_LOGLEVEL_MAX);
BOOT_PARAM_BOOL(lockdep);
BOOT_PARAM_FLAG(quiet);

/* selftest=all or a comma-separated list of names.  Whether each name exists
 * is for the selftest runner to say (it owns the list); here only the shape
 * is checked, so a stray quote or blank is caught at the parameter. */
static int check_selftest(const char *v)
{
	if (*v == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,"))
		return -1;
	for (; *v; v++) {
		if (!kisalnum((unsigned char)*v) && *v != '_' && *v != '-' && *v != ',' &&
		    *v != '.')
			return -1;
	}
	return 0;
}
BOOT_PARAM_STRING(selftest, "all|<name>[,<name>...]", check_selftest);

/*
 * Host tests for the boot command line (core/cmdline.c, core/boot_params.c
 * and the parameters registered under core/console/): every parameter kind,
 * quoting, unknown parameters, malformed values and their messages, and that
 * valid parameters still take effect next to bad ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/cmdline.h>
#include <vigil/config.h>
#include <vigil/string.h>

/* virt= is registered by the architecture, which knows the backend names;
 * register it here the same way so the CHOICE kind is covered. */
BOOT_PARAM_CHOICE(virt, "auto|vmx|svm|off");

/* The messages below spell out maxcpus='s range. */
_Static_assert(CONFIG_MAX_CPUS == 512, "update the expected maxcpus= messages");

static struct boot_params bp;
static struct cmdline_errors errs;

static void parse(const char *line)
{
	boot_params_defaults(&bp);
	cmdline_parse(line, &bp, &errs);
}

/* Parse and demand exactly the given messages, in order (NULL-terminated). */
static void parse_expect(const char *line, ...)
{
	va_list ap;
	unsigned int i = 0;
	const char *want;

	parse(line);
	va_start(ap, line);
	while ((want = va_arg(ap, const char *))) {
		assert_true(i < errs.count);
		assert_string_equal(errs.msg[i], want);
		i++;
	}
	va_end(ap);
	assert_int_equal(errs.count, i);
}

static void defaults(void **state)
{
	(void)state;
	parse_expect("", NULL);
	assert_int_equal(bp.console.devices, BOOT_CONSOLE_SERIAL | BOOT_CONSOLE_FB);
	assert_int_equal(bp.console.serial_kind, BOOT_SERIAL_IO);
	assert_int_equal(bp.console.serial_base, 0x3f8);
	assert_int_equal(bp.console.from_cmdline, 0);   /* the SPCR table may choose */
	assert_int_equal(bp.maxcpus, CONFIG_MAX_CPUS);
	assert_int_equal(bp.loglevel, 7);
	assert_true(bp.lockdep);
	assert_false(bp.quiet);
	assert_string_equal(bp.virt, "auto");
	assert_string_equal(bp.selftest, "");
	assert_string_equal(bp.autorun, "");

	parse_expect(" \t\r\n  ", NULL);
	parse_expect(NULL, NULL);
	assert_int_equal(bp.maxcpus, CONFIG_MAX_CPUS);
}

static void every_parameter_kind(void **state)
{
	(void)state;
	parse_expect("console=serial,0x2f8 maxcpus=2 virt=off selftest=all autorun=help;version "
		     "lockdep=off loglevel=3 quiet", NULL);
	assert_int_equal(bp.console.devices, BOOT_CONSOLE_SERIAL);
	assert_int_equal(bp.console.serial_base, 0x2f8);
	assert_int_equal(bp.maxcpus, 2);
	assert_string_equal(bp.virt, "off");
	assert_string_equal(bp.selftest, "all");
	assert_string_equal(bp.autorun, "help;version");
	assert_false(bp.lockdep);
	assert_int_equal(bp.loglevel, 3);
	assert_true(bp.quiet);

	/* The other ends of each range, and hex numbers. */
	parse_expect("maxcpus=0x10 loglevel=0 lockdep=on virt=svm", NULL);
	assert_int_equal(bp.maxcpus, 16);
	assert_int_equal(bp.loglevel, 0);
	assert_true(bp.lockdep);
	assert_string_equal(bp.virt, "svm");
	parse_expect("maxcpus=1 loglevel=7 virt=vmx", NULL);
	assert_int_equal(bp.maxcpus, 1);
	assert_int_equal(bp.loglevel, 7);
	assert_string_equal(bp.virt, "vmx");
	parse("maxcpus=512");
	assert_int_equal(bp.maxcpus, CONFIG_MAX_CPUS);
	assert_int_equal(errs.count, 0);
}

static void console_values(void **state)
{
	(void)state;
	parse_expect("console=fb", NULL);
	assert_int_equal(bp.console.devices, BOOT_CONSOLE_FB);
	assert_int_equal(bp.console.from_cmdline, 1);   /* overrides the SPCR table */
	parse_expect("console=serial", NULL);
	assert_int_equal(bp.console.devices, BOOT_CONSOLE_SERIAL);
	assert_int_equal(bp.console.serial_kind, BOOT_SERIAL_IO);
	assert_int_equal(bp.console.serial_base, 0x3f8);
	parse_expect("console=serial+fb", NULL);
	assert_int_equal(bp.console.devices, BOOT_CONSOLE_SERIAL | BOOT_CONSOLE_FB);
	parse_expect("console=fb+serial,mmio,0xfe030000", NULL);
	assert_int_equal(bp.console.devices, BOOT_CONSOLE_SERIAL | BOOT_CONSOLE_FB);
	assert_int_equal(bp.console.serial_kind, BOOT_SERIAL_MMIO);
	assert_int_equal(bp.console.serial_base, 0xfe030000);
	parse_expect("console=serial,760", NULL);
	assert_int_equal(bp.console.serial_base, 760);

	static const char *const bad[] = {
		"usb", "serial,", "serial,0", "serial,0x10000", "serial,0xfff9", "serial,x",
		"serial,mmio,", "serial,mmio,0", "serial,mmio", "serial+", "+fb", "fb++serial",
		"Serial", "serial ,0x3f8",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char line[64], msg[CMDLINE_ERROR_LEN];

		snprintf(line, sizeof(line), "console=\"%s\"", bad[i]);
		snprintf(msg, sizeof(msg), "cmdline: bad value '%s' for console= (expected "
			 "serial[,<port>|,mmio,<addr>]|fb, joined with +)", bad[i]);
		parse_expect(line, msg, NULL);
		/* A bad value leaves the default whole. */
		assert_int_equal(bp.console.devices, BOOT_CONSOLE_SERIAL | BOOT_CONSOLE_FB);
		assert_int_equal(bp.console.serial_base, 0x3f8);
	}
}

static void quoted_values(void **state)
{
	(void)state;
	parse_expect("quiet autorun=\"vm create; vm run 1 cpu=2\" maxcpus=3", NULL);
	assert_string_equal(bp.autorun, "vm create; vm run 1 cpu=2");
	assert_int_equal(bp.maxcpus, 3);
	assert_true(bp.quiet);
	/* Quote around the whole parameter, or in the middle of a value. */
	parse_expect("\"autorun=help; version\"", NULL);
	assert_string_equal(bp.autorun, "help; version");
	parse_expect("autorun=vm\" list\";help", NULL);
	assert_string_equal(bp.autorun, "vm list;help");
	/* Quotes make an empty value explicit: still not a valid one. */
	parse_expect("maxcpus=\"\"",
		     "cmdline: bad value '' for maxcpus= (expected 1..512)", NULL);
	/* Quoted number. */
	parse_expect("maxcpus=\"4\"", NULL);
	assert_int_equal(bp.maxcpus, 4);
}

static void unterminated_quote(void **state)
{
	(void)state;
	parse_expect("maxcpus=2 autorun=\"help; version maxcpus=3",
		     "cmdline: unterminated quote in 'autorun=help; version maxcpus=3' (ignored)",
		     NULL);
	assert_int_equal(bp.maxcpus, 2);
	assert_string_equal(bp.autorun, "");
}

static void unknown_parameters(void **state)
{
	(void)state;
	parse_expect("foo maxcpus=2 bar=1 =x MAXCPUS=3 maxcpu=4",
		     "cmdline: unknown parameter 'foo' (ignored)",
		     "cmdline: unknown parameter 'bar' (ignored)",
		     "cmdline: unknown parameter '=x' (ignored)",
		     "cmdline: unknown parameter 'MAXCPUS' (ignored)",
		     "cmdline: unknown parameter 'maxcpu' (ignored)",
		     NULL);
	assert_int_equal(bp.maxcpus, 2); /* valid params still take effect */
}

static void malformed_values(void **state)
{
	(void)state;
	parse_expect("maxcpus=x maxcpus=0 maxcpus=513 maxcpus=-1 maxcpus= maxcpus 1=1",
		     "cmdline: bad value 'x' for maxcpus= (expected 1..512)",
		     "cmdline: bad value '0' for maxcpus= (expected 1..512)",
		     "cmdline: bad value '513' for maxcpus= (expected 1..512)",
		     "cmdline: bad value '-1' for maxcpus= (expected 1..512)",
		     "cmdline: bad value '' for maxcpus= (expected 1..512)",
		     "cmdline: missing value for maxcpus= (expected 1..512)",
		     "cmdline: unknown parameter '1' (ignored)",
		     NULL);
	assert_int_equal(bp.maxcpus, CONFIG_MAX_CPUS);

	parse_expect("lockdep=1 lockdep=ON lockdep loglevel=8 loglevel=1.5 quiet=1 quiet=",
		     "cmdline: bad value '1' for lockdep= (expected on|off)",
		     "cmdline: bad value 'ON' for lockdep= (expected on|off)",
		     "cmdline: missing value for lockdep= (expected on|off)",
		     "cmdline: bad value '8' for loglevel= (expected 0..7)",
		     "cmdline: bad value '1.5' for loglevel= (expected 0..7)",
		     "cmdline: bad value '1' for quiet= (expected no value: just 'quiet')",
		     "cmdline: bad value '' for quiet= (expected no value: just 'quiet')",
		     NULL);
	assert_true(bp.lockdep);
	assert_int_equal(bp.loglevel, 7);
	assert_false(bp.quiet);

	parse_expect("virt=kvm virt= virt=VMX virt",
		     "cmdline: bad value 'kvm' for virt= (expected auto|vmx|svm|off)",
		     "cmdline: bad value '' for virt= (expected auto|vmx|svm|off)",
		     "cmdline: bad value 'VMX' for virt= (expected auto|vmx|svm|off)",
		     "cmdline: missing value for virt= (expected auto|vmx|svm|off)",
		     NULL);
	assert_string_equal(bp.virt, "auto");
}

static void string_values(void **state)
{
	char line[600], msg[CMDLINE_ERROR_LEN];

	(void)state;
	parse_expect("selftest=usage_core,hotplug-basic,s3.sim", NULL);
	assert_string_equal(bp.selftest, "usage_core,hotplug-basic,s3.sim");
	parse_expect("selftest=a,,b selftest=,a selftest=a, selftest=\"a b\" selftest=",
		     "cmdline: bad value 'a,,b' for selftest= (expected all|<name>[,<name>...])",
		     "cmdline: bad value ',a' for selftest= (expected all|<name>[,<name>...])",
		     "cmdline: bad value 'a,' for selftest= (expected all|<name>[,<name>...])",
		     "cmdline: bad value 'a b' for selftest= (expected all|<name>[,<name>...])",
		     "cmdline: bad value '' for selftest= (expected all|<name>[,<name>...])",
		     NULL);
	assert_string_equal(bp.selftest, "");

	/* Longer than the field: named with the limit. */
	strcpy(line, "selftest=");
	memset(line + 9, 'a', BOOT_SELFTEST_MAX);
	line[9 + BOOT_SELFTEST_MAX] = '\0';
	parse_expect(line, "cmdline: value too long for selftest= (max 255 bytes)", NULL);
	line[9 + BOOT_SELFTEST_MAX - 1] = '\0';
	parse_expect(line, NULL);
	assert_int_equal(strlen(bp.selftest), BOOT_SELFTEST_MAX - 1);

	/* autorun: blank lists and over-long commands are refused at boot. */
	parse_expect("autorun=; autorun=\" ; \"",
		     "cmdline: bad value ';' for autorun= (expected <command>[;<command>...], "
		     "each at most 255 bytes)",
		     "cmdline: bad value ' ; ' for autorun= (expected <command>[;<command>...], "
		     "each at most 255 bytes)",
		     NULL);
	strcpy(line, "autorun=help;");
	memset(line + 13, 'x', 256);
	line[13 + 256] = '\0';
	parse(line);
	assert_int_equal(errs.count, 1);
	snprintf(msg, sizeof(msg), "cmdline: bad value 'help;%.35s...' for autorun=", line + 13);
	assert_memory_equal(errs.msg[0], msg, strlen(msg));
	line[13 + 255] = '\0';
	parse_expect(line, NULL);
	/* Control characters never get into a value. */
	parse_expect("autorun=help\x01",
		     "cmdline: bad value 'help\x01' for autorun= (expected <command>[;<command>...], "
		     "each at most 255 bytes)",
		     NULL);
}

static void last_valid_value_wins(void **state)
{
	(void)state;
	parse_expect("maxcpus=2 maxcpus=3", NULL);
	assert_int_equal(bp.maxcpus, 3);
	parse("maxcpus=2 maxcpus=x");
	assert_int_equal(bp.maxcpus, 2);
	assert_int_equal(errs.count, 1);
}

static void separators(void **state)
{
	(void)state;
	parse_expect("\tmaxcpus=2\n\nquiet\r\n  loglevel=1  ", NULL);
	assert_int_equal(bp.maxcpus, 2);
	assert_true(bp.quiet);
	assert_int_equal(bp.loglevel, 1);
}

static void long_values_are_cut_in_messages(void **state)
{
	(void)state;
	parse_expect("maxcpus=12345678901234567890123456789012345678901234567890",
		     "cmdline: bad value '1234567890123456789012345678901234567890...' for "
		     "maxcpus= (expected 1..512)",
		     NULL);
}

static unsigned reported_lines, reported_summaries;

static void count_reported(const char *line, void *arg)
{
	(void)arg;
	reported_lines++;
	if (strstr(line, "not shown"))
		reported_summaries++;
}

static void too_many_problems(void **state)
{
	char line[512] = "";

	(void)state;
	for (int i = 0; i < 20; i++)
		strcat(line, "x ");
	strcat(line, "maxcpus=5");
	parse(line);
	assert_int_equal(errs.count, CMDLINE_MAX_ERRORS);
	assert_int_equal(errs.dropped, 20 - (CMDLINE_MAX_ERRORS - 1));
	assert_string_equal(errs.msg[CMDLINE_MAX_ERRORS - 2], "cmdline: unknown parameter 'x' (ignored)");
	assert_string_equal(errs.msg[CMDLINE_MAX_ERRORS - 1], "cmdline: 5 more problems not shown");
	assert_int_equal(bp.maxcpus, 5);
	/* What the kernel prints: the 15 messages and one summary line (it
	 * once added "... more errors not shown" after "... more problems"). */
	reported_lines = 0;
	reported_summaries = 0;
	cmdline_errors_report(&errs, count_reported, NULL);
	assert_int_equal(reported_lines, CMDLINE_MAX_ERRORS);
	assert_int_equal(reported_summaries, 1);
	/* A fresh parse starts a fresh list. */
	parse_expect("quiet", NULL);
}

static void parameter_longer_than_a_command_line(void **state)
{
	static char line[BOOT_CMDLINE_MAX + 100];

	(void)state;
	strcpy(line, "autorun=");
	memset(line + 8, 'h', sizeof(line) - 9);
	line[sizeof(line) - 1] = '\0';
	parse(line);
	assert_int_equal(errs.count, 1);
	assert_memory_equal(errs.msg[0], "cmdline: parameter too long 'autorun=hhh",
			    strlen("cmdline: parameter too long 'autorun=hhh"));
	assert_string_equal(bp.autorun, "");
}

static void kernel_instance(void **state)
{
	(void)state;
	/* Defaults before init. */
	assert_int_equal(boot_params()->maxcpus, CONFIG_MAX_CPUS);
	assert_true(boot_params()->lockdep);

	boot_params_init("maxcpus=2 bogus lockdep=off");
	assert_int_equal(boot_params()->maxcpus, 2);
	assert_false(boot_params()->lockdep);
	assert_string_equal(boot_params()->cmdline, "maxcpus=2 bogus lockdep=off");
	assert_int_equal(boot_params_errors()->count, 1);
	assert_string_equal(boot_params_errors()->msg[0],
			    "cmdline: unknown parameter 'bogus' (ignored)");

	/* init starts from the defaults again. */
	boot_params_init(NULL);
	assert_int_equal(boot_params()->maxcpus, CONFIG_MAX_CPUS);
	assert_true(boot_params()->lockdep);
	assert_string_equal(boot_params()->cmdline, "");
	assert_int_equal(boot_params_errors()->count, 0);
}

static void registry(void **state)
{
	static const char *const known[] = {
		"console", "maxcpus", "virt", "selftest", "autorun", "lockdep", "loglevel", "quiet",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		const struct boot_param *p = boot_param_find(known[i]);
		assert_non_null(p);
		assert_string_equal(p->name, known[i]);
	}
	assert_null(boot_param_find("nonsense"));
	assert_null(boot_param_find(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(every_parameter_kind),
		cmocka_unit_test(console_values),
		cmocka_unit_test(quoted_values),
		cmocka_unit_test(unterminated_quote),
		cmocka_unit_test(unknown_parameters),
		cmocka_unit_test(malformed_values),
		cmocka_unit_test(string_values),
		cmocka_unit_test(last_valid_value_wins),
		cmocka_unit_test(separators),
		cmocka_unit_test(long_values_are_cut_in_messages),
		cmocka_unit_test(too_many_problems),
		cmocka_unit_test(parameter_longer_than_a_command_line),
		cmocka_unit_test(kernel_instance),
		cmocka_unit_test(registry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

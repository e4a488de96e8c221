/* The self-test runner and the `selftest` console command (KTAP version 1). */
#include <stdarg.h>
#include <vigil/printk.h>
#include <vigil/selftest.h>
#include <vigil/shell.h>
#include <vigil/string.h>

extern const struct selftest __start_selftests[], __stop_selftests[];

struct selftest_ctx {
	char reason[160];
	bool failed;
	void (*out)(const char *line, void *arg);
	void *arg;
};

int st_fail(struct selftest_ctx *ctx, const char *fmt, ...)
{
	if (!ctx->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ctx->reason, sizeof(ctx->reason), fmt, ap);
		va_end(ap);
		/* KTAP directives end at a newline: keep the reason on one line. */
		for (char *p = ctx->reason; *p; p++)
			if (*p == '\n')
				*p = ' ';
		ctx->failed = true;
	}
	return -1;
}

void st_note(struct selftest_ctx *ctx, const char *fmt, ...)
{
	char line[200] = "# ";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + 2, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	ctx->out(line, ctx->arg);
}

static bool matches(const struct selftest *t, const char *name)
{
	return !strcmp(name, "all") || !strcmp(name, t->name);
}

int selftest_run(const char *name, void (*out)(const char *line, void *arg), void *arg, int *ran)
{
	int total = 0, failures = 0, n = 0;
	char line[256];
	for (const struct selftest *t = __start_selftests; t < __stop_selftests; t++)
		total += matches(t, name);
	*ran = total;
	if (!total)
		return 0;
	out("KTAP version 1", arg);
	snprintf(line, sizeof(line), "1..%d", total);
	out(line, arg);
	for (const struct selftest *t = __start_selftests; t < __stop_selftests; t++) {
		if (!matches(t, name))
			continue;
		struct selftest_ctx ctx = { .out = out, .arg = arg };
		int r = t->run(&ctx);
		n++;
		if (r == 0 && !ctx.failed) {
			snprintf(line, sizeof(line), "ok %d %s", n, t->name);
		} else {
			failures++;
			snprintf(line, sizeof(line), "not ok %d %s # %s", n, t->name,
				 ctx.failed ? ctx.reason : "failed");
		}
		out(line, arg);
	}
	return failures;
}

static void shell_out(const char *line, void *arg)
{
	shell_printf(arg, "%s\n", line);
}

static int selftest_list_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (const struct selftest *t = __start_selftests; t < __stop_selftests; t++)
		shell_printf(ctx, "selftest=%s\n", t->name);
	return 0;
}

static int cmd_selftest(struct shell_ctx *ctx, int argc, char **argv)
{
	const char *name = argc == 2 ? argv[1] : "all";
	int ran;
	int failures = selftest_run(name, shell_out, ctx, &ran);
	if (!ran)
		return shell_error(ctx, "no selftest named '%s' (try 'selftest list')", name);
	if (failures)
		return shell_error(ctx, "%d of %d selftests failed", failures, ran);
	return 0;
}
static const struct shell_subcmd selftest_subcmds[] = {
	SHELL_SUBCMD("list", selftest_list_cmd, 0, 0),
};
SHELL_CMD(selftest, "selftest [all|<name>|list]", .run = cmd_selftest, .max_args = 1,
	  SHELL_SUBCMDS(selftest_subcmds));

static void printk_out(const char *line, void *arg)
{
	(void)arg;
	printk("%s\n", line);
}

/* selftest= on the command line: run at boot, report in the log. */
void selftest_boot(const char *spec)
{
	if (!spec || !spec[0])
		return;
	char name[64];
	const char *p = spec;
	while (*p) {
		size_t n = 0;
		while (p[n] && p[n] != ',')
			n++;
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		int ran;
		int failures = selftest_run(name, printk_out, NULL, &ran);
		if (!ran)
			printk("selftest: no selftest named '%s'\n", name);
		else
			printk("selftest: %s: %d of %d passed\n", name, ran - failures, ran);
		p += n;
		if (*p == ',')
			p++;
	}
}

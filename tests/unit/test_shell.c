/*
 * Host tests for the console shell (core/console/shell*.c, autorun.c): reply
 * framing (exactly one status line, then the prompt), the error messages the
 * protocol fixes, argument helpers, the builtins, typed input through the line
 * editor, and the autorun transcript.  Output is compared byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/shell.h>
#include <vigil/string.h>

/* The kernel generates these from the build (mk/kernel.mk). */
const char vigil_version[] = "0.1.0";
const char vigil_commit[] = "0123456789ab";
/* The machine's CPUs as shell_arg_cpu sees them (no CPU table linked). */
unsigned nr_possible_cpus = 4;

static char out[16384];
static size_t out_len;

static void capture(const char *s, size_t n, void *arg)
{
	assert_ptr_equal(arg, out);
	assert_true(out_len + n < sizeof(out));
	memcpy(out + out_len, s, n);
	out_len += n;
	out[out_len] = '\0';
}

static void clear_out(void)
{
	out_len = 0;
	out[0] = '\0';
}

static int setup(void **state)
{
	(void)state;
	clear_out();
	shell_init(capture, out);
	return 0;
}

static void type(const char *s)
{
	for (; *s; s++)
		shell_feed_byte((unsigned char)*s);
}

/* Lines of out that are status lines ("ok" or "error: ..."). */
static int status_lines(void)
{
	int n = 0;

	for (const char *l = out; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);

		/* The prompt shares a line with the echoed command. */
		if (!strncmp(l, SHELL_PROMPT, strlen(SHELL_PROMPT)))
			l += strlen(SHELL_PROMPT), len -= strlen(SHELL_PROMPT);
		if ((len == 2 && !strncmp(l, "ok", 2)) || !strncmp(l, "error: ", 7))
			n++;
		if (!nl)
			break;
		l = nl + 1;
	}
	return n;
}

/* ---- commands for the tests ---- */

static int t_ok(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shell_printf(ctx, "a=1 b=2\n");
	shell_printf(ctx, "a=3 b=4\n");
	return 0;
}
SHELL_CMD(t_ok, "t_ok", .run = t_ok);

static int t_quiet(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return 0;
}
SHELL_CMD(t_quiet, "t_quiet", .run = t_quiet);

static int t_fail(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shell_printf(ctx, "partial=1\n");
	shell_error(ctx, "cpu %d refused: %s", 2, "incompatible");
	return shell_error(ctx, "a later, less specific reason");
}
SHELL_CMD(t_fail, "t_fail", .run = t_fail);

static int t_rc(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return 3;
}
SHELL_CMD(t_rc, "t_rc", .run = t_rc);

static int t_nonl(struct shell_ctx *ctx, int argc, char **argv)
{
	shell_printf(ctx, "x=1");
	if (argc > 1)
		return shell_error(ctx, "after data without newline");
	(void)argv;
	return 0;
}
SHELL_CMD(t_nonl, "t_nonl [fail]", .run = t_nonl, .max_args = 1);

static int t_args(struct shell_ctx *ctx, int argc, char **argv)
{
	shell_printf(ctx, "argc=%d", argc);
	for (int i = 0; i < argc; i++)
		shell_printf(ctx, " [%s]", argv[i]);
	shell_printf(ctx, "\n");
	assert_null(argv[argc]);
	return 0;
}
SHELL_CMD(t_args, "t_args [<word>...]", .run = t_args, .max_args = SHELL_ARGS_ANY);

/* "t_vm run <id> [cpu=<n>] [exits=<k>] [name=<s>]": sub-command + positional
 * number + options, the way real commands use the helpers. */
static int t_vm(struct shell_ctx *ctx, int argc, char **argv)
{
	uint64_t id, cpu = 0, exits = 1;
	const char *name = "none";
	bool cpu_given = false;
	struct shell_opt opts[] = {
		SHELL_OPT_RANGE("cpu", 0, 3, &cpu),
		SHELL_OPT_NUM("exits", &exits),
		SHELL_OPT_TEXT("name", &name),
	};

	opts[0].given = &cpu_given;
	if (argc < 3 || strcmp(argv[1], "run"))
		return shell_usage(ctx);
	if (shell_arg_u64(ctx, argv[2], "<id>", &id))
		return -1;
	if (shell_parse_opts(ctx, argc - 3, argv + 3, opts, ARRAY_SIZE(opts)))
		return -1;
	shell_printf(ctx, "vm=%llu cpu=%llu exits=%llu name=%s given=%d\n",
		     (unsigned long long)id, (unsigned long long)cpu,
		     (unsigned long long)exits, name, cpu_given);
	return 0;
}
SHELL_CMD(t_vm, "t_vm run <id> [cpu=<n>] [exits=<k>] [name=<s>]", .run = t_vm,
	  .max_args = SHELL_ARGS_ANY, .help = "Runs nothing; tests the argument helpers.");

static int t_cpu(struct shell_ctx *ctx, int argc, char **argv)
{
	uint64_t n;

	(void)argc; /* exactly one, checked by the shell */
	if (shell_arg_u64_range(ctx, argv[1], "<n>", 1, 3, &n))
		return -1;
	if (shell_parse_opts(ctx, 0, NULL, NULL, 0))
		return -1;
	shell_printf(ctx, "cpu=%llu\n", (unsigned long long)n);
	return 0;
}
SHELL_CMD(t_cpu, "t_cpu <n>", .run = t_cpu, .min_args = 1, .max_args = 1);

/* "t_cpuarg <n> [cpu=<n>]": both of the shell's CPU-argument forms. */
static int t_cpuarg(struct shell_ctx *ctx, int argc, char **argv)
{
	uint64_t n, cpu = 0;
	const struct shell_opt opts[] = { SHELL_OPT_CPUNR("cpu", &cpu) };
	if (shell_arg_cpu(ctx, argv[1], "<n>", &n) ||
	    shell_parse_opts(ctx, argc - 2, argv + 2, opts, ARRAY_SIZE(opts)))
		return -1;
	shell_printf(ctx, "n=%llu cpu=%llu\n", (unsigned long long)n, (unsigned long long)cpu);
	return 0;
}
SHELL_CMD(t_cpuarg, "t_cpuarg <n> [cpu=<n>]", .run = t_cpuarg, .min_args = 1,
	  .max_args = SHELL_ARGS_ANY);

static int t_noopts(struct shell_ctx *ctx, int argc, char **argv)
{
	return shell_parse_opts(ctx, argc - 1, argv + 1, NULL, 0);
}
SHELL_CMD(t_noopts, "t_noopts", .run = t_noopts, .max_args = SHELL_ARGS_ANY);

static int t_nested(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shell_exec_line("t_ok"); /* refused: the shell is not re-entrant */
	shell_printf(ctx, "current=%s\n", shell_current(ctx)->name);
	return 0;
}
SHELL_CMD(t_nested, "t_nested", .run = t_nested);

/* Sub-commands: "t_sub one", "t_sub two <a> [<b>]"; t_sub alone runs the
 * command's own form (like `virt`).  t_subany's own form takes a word that
 * is not a sub-command (like `inject <point>`); t_subonly has no own form
 * (like `vm`). */
static int t_sub_show(struct shell_ctx *ctx, int argc, char **argv)
{
	shell_printf(ctx, "sub=%s argc=%d\n", argv[0], argc);
	return 0;
}
static const struct shell_subcmd t_sub_table[] = {
	SHELL_SUBCMD("one", t_sub_show, 0, 0),
	SHELL_SUBCMD("two", t_sub_show, 1, 2),
};
SHELL_CMD(t_sub, "t_sub | t_sub one | t_sub two <a> [<b>]", .run = t_sub_show,
	  SHELL_SUBCMDS(t_sub_table));
SHELL_CMD(t_subany, "t_subany one | t_subany <word>", .run = t_sub_show, .min_args = 1,
	  .max_args = 1, SHELL_SUBCMDS(t_sub_table));
SHELL_CMD(t_subonly, "t_subonly one | t_subonly two <a> [<b>]", SHELL_SUBCMDS(t_sub_table));

/* ---- framing ---- */

static void ok_reply_is_data_then_ok_then_prompt(void **state)
{
	(void)state;
	shell_exec_line("t_ok");
	assert_string_equal(out, "vigil> t_ok\na=1 b=2\na=3 b=4\nok\nvigil> ");
	assert_int_equal(status_lines(), 1);
}

static void reply_without_data_is_just_ok(void **state)
{
	(void)state;
	shell_exec_line("t_quiet");
	assert_string_equal(out, "vigil> t_quiet\nok\nvigil> ");
}

static void error_reply_has_first_reason_only(void **state)
{
	(void)state;
	shell_exec_line("t_fail");
	assert_string_equal(out, "vigil> t_fail\npartial=1\nerror: cpu 2 refused: incompatible\n"
				 "vigil> ");
	assert_int_equal(status_lines(), 1);
}

static void nonzero_return_without_reason_is_still_an_error(void **state)
{
	(void)state;
	shell_exec_line("t_rc");
	assert_string_equal(out, "vigil> t_rc\nerror: t_rc failed (code 3)\nvigil> ");
}

static void status_line_always_starts_a_line(void **state)
{
	(void)state;
	shell_exec_line("t_nonl");
	assert_string_equal(out, "vigil> t_nonl\nx=1\nok\nvigil> ");
	clear_out();
	shell_exec_line("t_nonl fail");
	assert_string_equal(out, "t_nonl fail\nx=1\nerror: after data without newline\nvigil> ");
}

static void unknown_command(void **state)
{
	(void)state;
	shell_exec_line("frobnicate now");
	assert_string_equal(out, "vigil> frobnicate now\n"
				 "error: unknown command 'frobnicate' (try 'help')\nvigil> ");
	assert_int_equal(status_lines(), 1);
	/* Commands are case-sensitive. */
	clear_out();
	shell_exec_line("HELP");
	assert_string_equal(out, "HELP\nerror: unknown command 'HELP' (try 'help')\nvigil> ");
}

static void empty_line_gets_only_a_new_prompt(void **state)
{
	(void)state;
	shell_exec_line("");
	shell_exec_line(" \t ");
	assert_string_equal(out, "vigil> \nvigil>  \t \nvigil> ");
	assert_int_equal(status_lines(), 0);
}

static void tokenises_on_spaces_and_tabs(void **state)
{
	(void)state;
	shell_exec_line("  t_args\ta  b\t\tc  ");
	assert_string_equal(out, "vigil>   t_args\ta  b\t\tc  \nargc=4 [t_args] [a] [b] [c]\nok\n"
				 "vigil> ");
}

static void too_many_arguments(void **state)
{
	char line[SHELL_LINE_MAX + 1] = "t_args";

	(void)state;
	/* SHELL_MAX_ARGS words are fine, one more is not. */
	for (int i = 1; i < SHELL_MAX_ARGS; i++)
		strcat(line, " x");
	shell_exec_line(line);
	assert_non_null(strstr(out, "\nargc=32 "));
	strcat(line, " y");
	clear_out();
	shell_exec_line(line);
	assert_non_null(strstr(out, "\nerror: too many arguments (max 31)\nvigil> "));
	assert_int_equal(status_lines(), 1);
}

static void line_limit_applies_to_executed_lines(void **state)
{
	char line[SHELL_LINE_MAX + 2];

	(void)state;
	memset(line, ' ', sizeof(line));
	memcpy(line, "t_quiet", 7);
	line[SHELL_LINE_MAX] = '\0'; /* 255 bytes: runs */
	shell_exec_line(line);
	assert_non_null(strstr(out, "\nok\nvigil> "));
	line[SHELL_LINE_MAX] = ' ';
	line[SHELL_LINE_MAX + 1] = '\0'; /* 256: refused whole */
	clear_out();
	shell_exec_line(line);
	assert_non_null(strstr(out, "\nerror: line too long (max 255 bytes)\nvigil> "));
	assert_int_equal(status_lines(), 1);
}

/* ---- arguments ---- */

static void options_parse_and_keep_defaults(void **state)
{
	(void)state;
	shell_exec_line("t_vm run 7");
	assert_non_null(strstr(out, "\nvm=7 cpu=0 exits=1 name=none given=0\nok\n"));
	clear_out();
	shell_exec_line("t_vm run 0x10 exits=100 cpu=3 name=abc");
	assert_non_null(strstr(out, "\nvm=16 cpu=3 exits=100 name=abc given=1\nok\n"));
}

static void expect_error(const char *line, const char *reason)
{
	char want[300];

	clear_out();
	shell_exec_line(line);
	snprintf(want, sizeof(want), "%s\nerror: %s\nvigil> ", line, reason);
	assert_string_equal(out, want);
}

static void argument_errors_name_the_argument(void **state)
{
	(void)state;
	shell_prompt(); /* so every transcript below starts with the line itself */
	expect_error("t_vm run x", "bad value 'x' for <id> (expected a number)");
	expect_error("t_vm run -1", "bad value '-1' for <id> (expected a number)");
	expect_error("t_vm run 99999999999999999999",
		     "bad value '99999999999999999999' for <id> (expected a number)");
	expect_error("t_vm run 1 cpu=x", "bad value 'x' for cpu= (expected 0..3)");
	expect_error("t_vm run 1 cpu=4", "bad value '4' for cpu= (expected 0..3)");
	expect_error("t_vm run 1 cpu=", "bad value '' for cpu= (expected 0..3)");
	expect_error("t_vm run 1 exits=1k", "bad value '1k' for exits= (expected a number)");
	expect_error("t_vm run 1 name=", "empty value for name=");
	expect_error("t_vm run 1 foo=1",
		     "unknown option 'foo=1' (expected cpu=, exits=, name=)");
	expect_error("t_vm run 1 cpux=1",
		     "unknown option 'cpux=1' (expected cpu=, exits=, name=)");
	expect_error("t_vm run 1 2", "unexpected argument '2' (expected cpu=, exits=, name=)");
	expect_error("t_vm run 1 cpu=1 cpu=2", "cpu= given twice");
	expect_error("t_vm stop 1",
		     "usage: t_vm run <id> [cpu=<n>] [exits=<k>] [name=<s>]");
	expect_error("t_cpu 0", "bad value '0' for <n> (expected 1..3)");
	expect_error("t_cpu 4", "bad value '4' for <n> (expected 1..3)");
	expect_error("t_cpu", "usage: t_cpu <n>");
	expect_error("t_noopts a", "unexpected argument 'a'");
	expect_error("t_noopts a=1", "unknown option 'a=1'");
	/* Long values are cut in the message. */
	expect_error("t_vm run 1 cpu=0123456789012345678901234567890123456789xyz",
		     "bad value '0123456789012345678901234567890123456789' for cpu= "
		     "(expected 0..3)");
}

/* One message for every out-of-range CPU, whatever its size, with the
 * machine's range; on one CPU the range is 0..0, never "no limit". */
static void cpu_arguments_use_the_machine_range(void **state)
{
	(void)state;
	shell_prompt();
	const char *values[] = { "4", "200", "256", "4294967296", "18446744073709551615" };
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		char line[80], reason[120];
		snprintf(line, sizeof(line), "t_cpuarg 0 cpu=%s", values[i]);
		snprintf(reason, sizeof(reason), "bad value '%s' for cpu= (expected 0..3)", values[i]);
		expect_error(line, reason);
		snprintf(line, sizeof(line), "t_cpuarg %s", values[i]);
		snprintf(reason, sizeof(reason), "bad value '%s' for <n> (expected 0..3)", values[i]);
		expect_error(line, reason);
	}
	clear_out();
	shell_exec_line("t_cpuarg 3 cpu=3");
	assert_non_null(strstr(out, "\nn=3 cpu=3\nok\n"));
	nr_possible_cpus = 1;
	expect_error("t_cpuarg 0 cpu=4294967296", "bad value '4294967296' for cpu= (expected 0..0)");
	expect_error("t_cpuarg 1", "bad value '1' for <n> (expected 0..0)");
	clear_out();
	shell_exec_line("t_cpuarg 0 cpu=0");
	assert_non_null(strstr(out, "\nn=0 cpu=0\nok\n"));
	nr_possible_cpus = 4;
}

static void range_accepts_its_bounds(void **state)
{
	(void)state;
	shell_exec_line("t_cpu 1");
	shell_exec_line("t_cpu 3");
	assert_non_null(strstr(out, "\ncpu=1\nok\n"));
	assert_non_null(strstr(out, "\ncpu=3\nok\n"));
}

/* ---- builtins ---- */

static int by_name(const void *a, const void *b)
{
	const struct shell_cmd *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* The registration's argument counts are checked by the shell: a wrong count
 * never reaches the command and always gets the usage line. */
static void argument_counts_are_checked_by_the_shell(void **state)
{
	(void)state;
	shell_prompt();
	expect_error("t_cpu", "usage: t_cpu <n>");
	expect_error("t_cpu 1 2", "usage: t_cpu <n>");
	expect_error("t_ok extra", "usage: t_ok");
	expect_error("t_nonl fail more", "usage: t_nonl [fail]");
	expect_error("t_cpuarg", "usage: t_cpuarg <n> [cpu=<n>]");
	expect_error("t_sub two", "usage: t_sub | t_sub one | t_sub two <a> [<b>]");
	expect_error("t_sub two a b c", "usage: t_sub | t_sub one | t_sub two <a> [<b>]");
	expect_error("t_sub one x", "usage: t_sub | t_sub one | t_sub two <a> [<b>]");
	expect_error("t_subonly", "usage: t_subonly one | t_subonly two <a> [<b>]");
	expect_error("t_subany", "usage: t_subany one | t_subany <word>");
	expect_error("t_subany a b", "usage: t_subany one | t_subany <word>");
}

/* A sub-command runs with argv[0] = its own name; the command's own form
 * runs when no sub-command is named. */
static void subcommands_are_dispatched(void **state)
{
	(void)state;
	shell_exec_line("t_sub");
	shell_exec_line("t_sub one");
	shell_exec_line("t_sub two a");
	shell_exec_line("t_sub two a b");
	shell_exec_line("t_subany one");
	shell_exec_line("t_subany frob");
	shell_exec_line("t_subonly two a");
	assert_string_equal(out, "vigil> t_sub\nsub=t_sub argc=1\nok\n"
				 "vigil> t_sub one\nsub=one argc=1\nok\n"
				 "vigil> t_sub two a\nsub=two argc=2\nok\n"
				 "vigil> t_sub two a b\nsub=two argc=3\nok\n"
				 "vigil> t_subany one\nsub=one argc=1\nok\n"
				 "vigil> t_subany frob\nsub=t_subany argc=2\nok\n"
				 "vigil> t_subonly two a\nsub=two argc=2\nok\nvigil> ");
}

/* One answer for a word that names no sub-command, listing them all,
 * whether or not the command has a form of its own without arguments. */
static void unknown_subcommand_lists_the_valid_ones(void **state)
{
	(void)state;
	shell_prompt();
	expect_error("t_sub frob", "unknown t_sub subcommand 'frob' (expected one or two)");
	expect_error("t_subonly frob 1 2", "unknown t_subonly subcommand 'frob' (expected one or two)");
	expect_error("t_subonly 0123456789012345678901234567890123456789xyz",
		     "unknown t_subonly subcommand '0123456789012345678901234567890123456789' "
		     "(expected one or two)");
}

static void help_lists_every_command_sorted(void **state)
{
	const struct shell_cmd *cmds[64];
	size_t n = 0;
	char want[4096] = "vigil> help\n";

	(void)state;
	for (const struct shell_cmd *c = shell_cmds_begin(); c < shell_cmds_end(); c++) {
		assert_true(n < ARRAY_SIZE(cmds));
		cmds[n++] = c;
	}
	/* The builtins and every test command are registered. */
	assert_int_equal(n, 16);
	qsort(cmds, n, sizeof(cmds[0]), by_name);
	for (size_t i = 0; i < n; i++) {
		strcat(want, cmds[i]->synopsis);
		strcat(want, "\n");
	}
	strcat(want, "ok\nvigil> ");
	shell_exec_line("help");
	assert_string_equal(out, want);
	assert_ptr_equal(cmds[0], shell_find("help")); /* sorted: "help" < "t_..." */
	assert_int_equal(status_lines(), 1);
}

static void help_for_one_command(void **state)
{
	(void)state;
	shell_exec_line("help t_vm");
	assert_string_equal(out, "vigil> help t_vm\nt_vm run <id> [cpu=<n>] [exits=<k>] [name=<s>]\n"
				 "Runs nothing; tests the argument helpers.\nok\nvigil> ");
	expect_error("help nope", "unknown command 'nope' (try 'help')");
	expect_error("help a b", "usage: help [<command>]");
}

static void version_reply(void **state)
{
	(void)state;
	shell_exec_line("version");
	assert_string_equal(out, "vigil> version\nversion=0.1.0 commit=0123456789ab arch=x86_64\n"
				 "ok\nvigil> ");
	expect_error("version now", "usage: version");
}

static void find_and_current(void **state)
{
	(void)state;
	assert_non_null(shell_find("version"));
	assert_null(shell_find("versio"));
	assert_null(shell_find(""));
	shell_exec_line("t_nested");
	/* The nested call printed nothing; the outer command ran normally. */
	assert_string_equal(out, "vigil> t_nested\ncurrent=t_nested\nok\nvigil> ");
}

/* ---- interactive input ---- */

static void typed_command_looks_like_executed_one(void **state)
{
	char typed[1024];

	(void)state;
	shell_prompt();
	shell_prompt(); /* idempotent */
	type("t_ok\r\n"); /* CRLF is one end of line: one reply, one prompt */
	strcpy(typed, out);
	setup(NULL);
	shell_exec_line("t_ok");
	assert_string_equal(typed, out);
}

static void typed_editing_reaches_the_command(void **state)
{
	(void)state;
	shell_prompt();
	type("t_arsg\b\bgs  x\x7fy\x1b[D z\r");
	assert_string_equal(out, "vigil> t_arsg\b \b\b \bgs  x\b \by z\n"
				 "argc=3 [t_args] [y] [z]\nok\nvigil> ");
}

static void typed_empty_line_and_ctrl_c(void **state)
{
	(void)state;
	shell_prompt();
	type("\r");
	type("vm destroy 1\x03");
	type("\x15\n");
	assert_string_equal(out, "vigil> \nvigil> vm destroy 1^C\nvigil> \nvigil> ");
	assert_int_equal(status_lines(), 0);
}

static void typed_long_line_is_rejected_with_the_limit(void **state)
{
	char line[SHELL_LINE_MAX + 2];
	const char *tail;

	(void)state;
	shell_prompt();
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0'; /* 256 bytes */
	type(line);
	type("\r\n");
	tail = out + strlen(SHELL_PROMPT) + SHELL_LINE_MAX; /* 255 echoed, not 256 */
	assert_string_equal(tail, "\nerror: line too long (max 255 bytes)\nvigil> ");
	assert_int_equal(status_lines(), 1);
	/* The next line works. */
	clear_out();
	type("t_quiet\n");
	assert_string_equal(out, "t_quiet\nok\nvigil> ");
}

/* ---- autorun ---- */

static void autorun_transcript_looks_typed(void **state)
{
	(void)state;
	shell_autorun("version; t_quiet ;;  ;nope;t_vm run 1 cpu=2");
	shell_prompt(); /* the kernel hands over to the user: no second prompt */
	assert_string_equal(out, "vigil> version\n"
				 "version=0.1.0 commit=0123456789ab arch=x86_64\nok\n"
				 "vigil> t_quiet\nok\n"
				 "vigil> nope\nerror: unknown command 'nope' (try 'help')\n"
				 "vigil> t_vm run 1 cpu=2\n"
				 "vm=1 cpu=2 exits=1 name=none given=1\nok\n"
				 "vigil> ");
	assert_int_equal(status_lines(), 4);
}

static void autorun_empty_does_nothing(void **state)
{
	(void)state;
	shell_autorun("");
	shell_autorun(NULL);
	shell_autorun(" ; ;");
	assert_string_equal(out, "");
}

static void autorun_long_command_is_refused_like_typed(void **state)
{
	char cmds[600];

	(void)state;
	memset(cmds, 'b', 300);
	strcpy(cmds + 300, ";t_quiet");
	shell_autorun(cmds);
	assert_non_null(strstr(out, "\nerror: line too long (max 255 bytes)\nvigil> t_quiet\nok\n"));
	assert_int_equal(status_lines(), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(ok_reply_is_data_then_ok_then_prompt, setup),
		cmocka_unit_test_setup(reply_without_data_is_just_ok, setup),
		cmocka_unit_test_setup(error_reply_has_first_reason_only, setup),
		cmocka_unit_test_setup(nonzero_return_without_reason_is_still_an_error, setup),
		cmocka_unit_test_setup(status_line_always_starts_a_line, setup),
		cmocka_unit_test_setup(unknown_command, setup),
		cmocka_unit_test_setup(empty_line_gets_only_a_new_prompt, setup),
		cmocka_unit_test_setup(tokenises_on_spaces_and_tabs, setup),
		cmocka_unit_test_setup(too_many_arguments, setup),
		cmocka_unit_test_setup(line_limit_applies_to_executed_lines, setup),
		cmocka_unit_test_setup(options_parse_and_keep_defaults, setup),
		cmocka_unit_test_setup(argument_errors_name_the_argument, setup),
		cmocka_unit_test_setup(range_accepts_its_bounds, setup),
		cmocka_unit_test_setup(cpu_arguments_use_the_machine_range, setup),
		cmocka_unit_test_setup(argument_counts_are_checked_by_the_shell, setup),
		cmocka_unit_test_setup(subcommands_are_dispatched, setup),
		cmocka_unit_test_setup(unknown_subcommand_lists_the_valid_ones, setup),
		cmocka_unit_test_setup(help_lists_every_command_sorted, setup),
		cmocka_unit_test_setup(help_for_one_command, setup),
		cmocka_unit_test_setup(version_reply, setup),
		cmocka_unit_test_setup(find_and_current, setup),
		cmocka_unit_test_setup(typed_command_looks_like_executed_one, setup),
		cmocka_unit_test_setup(typed_editing_reaches_the_command, setup),
		cmocka_unit_test_setup(typed_empty_line_and_ctrl_c, setup),
		cmocka_unit_test_setup(typed_long_line_is_rejected_with_the_limit, setup),
		cmocka_unit_test_setup(autorun_transcript_looks_typed, setup),
		cmocka_unit_test_setup(autorun_empty_does_nothing, setup),
		cmocka_unit_test_setup(autorun_long_command_is_refused_like_typed, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

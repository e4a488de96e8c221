/*
 * The console shell: input, dispatch and reply framing.
 *
 * The framing rules of docs/console.md are enforced here and nowhere
 * else, so a command cannot get them wrong: a command only prints data lines
 * and says whether it failed; the shell adds exactly one status line ("ok" or
 * "error: <reason>") and then the prompt.  If a command's last data line
 * lacks its newline, the shell supplies it, so the status line always starts
 * a line of its own (the harness finds it by reading whole lines).
 */
#include <stdarg.h>
#include <vigil/line_editor.h>
#include <vigil/shell.h>
#include <vigil/string.h>

_Static_assert(SHELL_LINE_MAX == LE_MAX_LINE, "shell and editor agree on the line limit");

struct shell_ctx {
	const struct shell_cmd *cmd;
	bool failed;
	char reason[SHELL_ERROR_MAX];
};

static struct {
	shell_sink_fn sink;
	void *sink_arg;
	struct line_editor le;
	bool prompt_shown;  /* a prompt is up and no line has ended since */
	bool at_line_start; /* the last byte written was '\n' (or nothing yet) */
	bool busy;          /* a command is running */
	shell_resumable_sink_fn resumable;
	uint64_t breaks_seen; /* for resumable */
} sh;

/* Bracket the "shell_cmds" section (kernel.ld, or the host linker). */
extern const struct shell_cmd __start_shell_cmds[];
extern const struct shell_cmd __stop_shell_cmds[];

const struct shell_cmd *shell_cmds_begin(void) { return __start_shell_cmds; }
const struct shell_cmd *shell_cmds_end(void) { return __stop_shell_cmds; }

static void out(const char *s, size_t n)
{
	if (!n)
		return;
	if (sh.sink)
		sh.sink(s, n, sh.sink_arg);
	sh.at_line_start = s[n - 1] == '\n';
}

static void out_str(const char *s)
{
	out(s, strlen(s));
}

/* The prompt and the echo: through the resumable sink when there is one,
 * with the whole command line (prompt and what the editor holds, plus s
 * when s ends the line) to print instead if a log line broke it. */
static void command_line_out(const char *s, size_t n, bool prompt)
{
	if (!sh.resumable || !n) {
		out(s, n);
		return;
	}
	static char again[sizeof(SHELL_PROMPT) + LE_MAX_LINE + 8];
	size_t a = 0;
	const char *typed = prompt ? "" : le_line(&sh.le);
	size_t typed_n = strlen(typed);
	memcpy(again, SHELL_PROMPT, sizeof(SHELL_PROMPT) - 1);
	a += sizeof(SHELL_PROMPT) - 1;
	memcpy(again + a, typed, typed_n);
	a += typed_n;
	/* A line end ("\n", or "^C\n") is printed after the line again. */
	if (s[n - 1] == '\n' && n <= sizeof(again) - a) {
		memcpy(again + a, s, n);
		a += n;
	}
	sh.resumable(&sh.breaks_seen, s, n, again, a);
	sh.at_line_start = s[n - 1] == '\n';  /* again ends as s does */
}

static void le_echo(const char *s, size_t n, void *arg)
{
	(void)arg;
	command_line_out(s, n, false);
}

void shell_set_resumable_sink(shell_resumable_sink_fn fn)
{
	sh.resumable = fn;
}

void shell_init(shell_sink_fn sink, void *arg)
{
	sh.sink = sink;
	sh.sink_arg = arg;
	sh.prompt_shown = false;
	sh.at_line_start = true;
	sh.busy = false;
	le_init(&sh.le, le_echo, NULL);
}

void shell_prompt(void)
{
	if (sh.prompt_shown)
		return;
	command_line_out(SHELL_PROMPT, sizeof(SHELL_PROMPT) - 1, true);
	sh.prompt_shown = true;
}

const struct shell_cmd *shell_find(const char *name)
{
	for (const struct shell_cmd *c = shell_cmds_begin(); c < shell_cmds_end(); c++) {
		if (!strcmp(c->name, name))
			return c;
	}
	return NULL;
}

/* Split on spaces and tabs, in place.  Returns argc, or -1 if too many. */
static int tokenise(char *line, char **argv)
{
	int argc = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			return argc;
		if (argc == SHELL_MAX_ARGS)
			return -1;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
}

static void status_error(const char *reason)
{
	if (!sh.at_line_start)
		out("\n", 1);
	out_str("error: ");
	out_str(reason);
	out("\n", 1);
}

static void status_line_too_long(void)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "line too long (max %d bytes)", SHELL_LINE_MAX);
	status_error(msg);
}

/* Run one complete line: the reply and its status line, no prompt. */
static void run_line(const char *line)
{
	char buf[SHELL_LINE_MAX + 1];
	char *argv[SHELL_MAX_ARGS + 1];
	struct shell_ctx ctx = { 0 };
	int argc, rc;

	if (strlen(line) > SHELL_LINE_MAX) {
		status_line_too_long();
		return;
	}
	strlcpy(buf, line, sizeof(buf));
	argc = tokenise(buf, argv);
	if (argc == 0)
		return; /* empty line: no reply at all, just the next prompt */
	if (argc < 0) {
		snprintf(ctx.reason, sizeof(ctx.reason), "too many arguments (max %d)",
			 SHELL_MAX_ARGS - 1);
		status_error(ctx.reason);
		return;
	}
	argv[argc] = NULL;

	ctx.cmd = shell_find(argv[0]);
	if (!ctx.cmd) {
		snprintf(ctx.reason, sizeof(ctx.reason), "unknown command '%.64s' (try 'help')",
			 argv[0]);
		status_error(ctx.reason);
		return;
	}

	sh.busy = true;
	rc = shell_dispatch(&ctx, argc, argv);
	sh.busy = false;

	if (!ctx.failed && rc != 0)
		snprintf(ctx.reason, sizeof(ctx.reason), "%s failed (code %d)", ctx.cmd->name, rc);
	if (ctx.failed || rc != 0) {
		status_error(ctx.reason);
		return;
	}
	if (!sh.at_line_start)
		out("\n", 1);
	out("ok\n", 3);
}

static void next_prompt(void)
{
	sh.prompt_shown = false;
	shell_prompt();
}

void shell_exec_line(const char *line)
{
	if (sh.busy)
		return; /* a command tried to run a command: not supported */
	shell_prompt();
	out_str(line);
	out("\n", 1);
	run_line(line);
	next_prompt();
}

void shell_feed_byte(int c)
{
	if (sh.busy)
		return;
	switch (le_feed(&sh.le, c)) {
	case LE_LINE_READY:
		run_line(le_line(&sh.le));
		next_prompt();
		break;
	case LE_LINE_TOO_LONG:
		status_line_too_long();
		next_prompt();
		break;
	case LE_CANCELLED:
		next_prompt();
		break;
	case LE_NONE:
		break;
	}
}

/* ---- services for command functions ---- */

void shell_printf(struct shell_ctx *ctx, const char *fmt, ...)
{
	char buf[SHELL_PRINTF_MAX];
	va_list ap;
	int n;

	(void)ctx; /* one console today; the ctx keeps the door open for more */
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	out(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

int shell_error(struct shell_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->failed)
		return -1; /* keep the first, most specific reason */
	va_start(ap, fmt);
	vsnprintf(ctx->reason, sizeof(ctx->reason), fmt, ap);
	va_end(ap);
	ctx->failed = true;
	return -1;
}

int shell_usage(struct shell_ctx *ctx)
{
	return shell_error(ctx, "usage: %s", ctx->cmd->synopsis);
}

const struct shell_cmd *shell_current(const struct shell_ctx *ctx)
{
	return ctx->cmd;
}

/*
 * The console shell: reads command lines (through the line editor), runs
 * registered commands and frames their replies exactly as
 * docs/console.md specifies:
 *
 *     vigil> <command>            prompt, then the echoed command
 *     <data line>...              zero or more, printed by shell_printf()
 *     ok | error: <reason>        exactly one status line, printed by the shell
 *     vigil>                      the next prompt (no newline)
 *
 * An empty line or Ctrl-C gets just a new prompt, no status line.
 *
 * Lines end in "\n" everywhere in the shell; the serial driver turns each
 * "\n" into CR LF on the wire (terminals need the CR, and one place doing it
 * keeps the shell and the host tests free of it).
 *
 * Commands register themselves with SHELL_CMD(); nothing else needs to
 * know about them.  A command function writes data lines with shell_printf()
 * and returns 0 for "ok", or returns shell_error(ctx, "reason") for
 * "error: reason".  The registration carries the accepted argument counts
 * and a table of sub-commands ("vm create", "cpu online 3"); the shell checks
 * the counts and dispatches, so every command answers a wrong count with
 * "usage: <synopsis>" and an unknown sub-command with
 * "unknown <command> subcommand '<word>' (expected a, b or c)".  Arguments
 * are parsed with the helpers below, which produce error messages naming the
 * argument and what was expected.
 *
 * The shell is single-threaded: one console, driven from one loop.
 */
#ifndef VIGIL_SHELL_H
#define VIGIL_SHELL_H

#include <vigil/types.h>

#define SHELL_PROMPT   "vigil> "
#define SHELL_MAX_ARGS 32
#define SHELL_LINE_MAX 255 /* bytes per command line (LE_MAX_LINE) */

/* Per-command state: where the reply goes and whether it failed.  Opaque to
 * commands; they only pass it to the functions below. */
struct shell_ctx;

/*
 * Argument counts are the words after the command (or sub-command) name.
 * The shell checks them before calling the command, so a command never
 * repeats the check, and a wrong count always gets "error: usage: <synopsis>".
 */
#define SHELL_ARGS_ANY (SHELL_MAX_ARGS)

/* One sub-command of a command ("vm create", "cpu online <n>"): the shell
 * matches argv[1] against the command's table, checks the sub-command's
 * argument count and calls run with argv[0] = the sub-command's name. */
struct shell_subcmd {
	const char *name;
	int (*run)(struct shell_ctx *ctx, int argc, char **argv);
	int min_args, max_args;
};

#define SHELL_SUBCMD(sub_name, fn, lo, hi) \
	{ .name = (sub_name), .run = (fn), .min_args = (lo), .max_args = (hi) }

struct shell_cmd {
	const char *name;      /* first word of the command line */
	const char *synopsis;  /* one line for 'help', e.g. "vm run <id> [cpu=<n>]" */
	const char *help;      /* optional extra text for 'help <name>' (may be NULL) */
	/* The command itself (argv[0] = name); with sub-commands, optional: it
	 * runs when argv[1] names none of them (no argument, or "inject <point>"). */
	int (*run)(struct shell_ctx *ctx, int argc, char **argv);
	int min_args, max_args; /* for run; both 0 (the default): no arguments */
	const struct shell_subcmd *subcmds;
	size_t nr_subcmds;
};

/* .subcmds and .nr_subcmds of a table, for SHELL_CMD's initialisers. */
#define SHELL_SUBCMDS(table) .subcmds = (table), .nr_subcmds = ARRAY_SIZE(table)

/*
 * Register a console command named like its identifier:
 *
 *     SHELL_CMD(version, "version", .run = cmd_version);
 *     SHELL_CMD(bench, "bench [all|<name>]", .run = cmd_bench, .max_args = 1);
 *     SHELL_CMD(vm, "vm create | vm list", .help = "...", SHELL_SUBCMDS(vm_subcmds));
 *
 * The struct lands in the "shell_cmds" section, which the kernel linker
 * script brackets with __start_shell_cmds / __stop_shell_cmds (the host
 * linker makes the same symbols for sections named like C identifiers).
 * aligned(8) with a user-specified alignment stops GCC from padding
 * individual entries to 32 bytes, which would put holes in the array.
 */
#define SHELL_CMD(ident, cmd_synopsis, ...)                                      \
	static const struct shell_cmd shell_cmd_##ident                          \
	__attribute__((used, section("shell_cmds"), aligned(8))) = {             \
		.name = #ident, .synopsis = (cmd_synopsis), __VA_ARGS__          \
	}

/* Where every byte of console output goes (console_write in the kernel, a
 * capture buffer in tests). */
typedef void (*shell_sink_fn)(const char *s, size_t n, void *arg);

/* (Re)start the shell: empty line, no prompt shown yet.  Prints nothing. */
void shell_init(shell_sink_fn sink, void *arg);
/* Where the prompt and the echo go instead of the sink, when set: a writer
 * that prints `again` (the prompt and the line typed so far) in place of s
 * when a kernel log line broke the command line since *seen
 * (console_write_resumable(), vigil/printk.h). */
typedef void (*shell_resumable_sink_fn)(uint64_t *seen, const char *s, size_t n, const char *again,
					size_t again_n);
void shell_set_resumable_sink(shell_resumable_sink_fn fn);

/* Print the prompt unless it is already showing.  Call once after boot
 * messages (and after autorun) to hand the console to the user. */
void shell_prompt(void);

/* Interactive input: one byte from the console.  Runs the command when the
 * line is complete and prints the next prompt. */
void shell_feed_byte(int c);

/* Run one line as if it had been typed: prompt (if not showing), the line and
 * a newline are echoed, the reply follows, then the next prompt.  Used by
 * autorun= and by tests.  Not re-entrant (a command must not call it). */
void shell_exec_line(const char *line);

/* autorun=: run each ';'-separated command in turn with shell_exec_line().
 * Blank entries are skipped; spaces around each command are dropped. */
void shell_autorun(const char *commands);

/* Look up a registered command by name (NULL if none). */
const struct shell_cmd *shell_find(const char *name);

/* Iterate over the registered commands (unsorted). */
const struct shell_cmd *shell_cmds_begin(void);
const struct shell_cmd *shell_cmds_end(void);

/* ---- for command functions ---- */

/* Write reply data (one or more whole lines, each ending in "\n").  Output
 * is formatted into a SHELL_PRINTF_MAX-byte buffer; longer text is cut. */
#define SHELL_PRINTF_MAX 512
__printf(2, 3) void shell_printf(struct shell_ctx *ctx, const char *fmt, ...);

/* Record why the command failed; the shell prints "error: <reason>" as the
 * status line.  Returns -1 so a command can "return shell_error(...)".  The
 * first error wins (later calls do not overwrite it). */
#define SHELL_ERROR_MAX 200
__printf(2, 3) int shell_error(struct shell_ctx *ctx, const char *fmt, ...);

/* "error: usage: <synopsis of the running command>".  Returns -1. */
int shell_usage(struct shell_ctx *ctx);

/* Check the running command's argument counts, pick its sub-command and
 * call it (core/console/shell_dispatch.c; the shell calls this for every
 * line, commands never need to). */
int shell_dispatch(struct shell_ctx *ctx, int argc, char **argv);

/* The command being run (for messages). */
const struct shell_cmd *shell_current(const struct shell_ctx *ctx);

/*
 * Parse a number argument: decimal, or hex with 0x.  On failure record
 * "bad value '<s>' for <what> (expected a number)" and return -1.
 * what names the argument as the user knows it: "<id>", "cpu=", ...
 */
int shell_arg_u64(struct shell_ctx *ctx, const char *s, const char *what, uint64_t *out);
/* Same, and the value must lie in [min, max]: "(expected <min>..<max>)". */
int shell_arg_u64_range(struct shell_ctx *ctx, const char *s, const char *what,
			uint64_t min, uint64_t max, uint64_t *out);
/* A CPU number of this machine, 0..nr_possible_cpus-1 (whatever its state):
 * "bad value '<s>' for <what> (expected 0..<last>)".  Every command takes
 * its CPU arguments through this, so they all say the same thing. */
int shell_arg_cpu(struct shell_ctx *ctx, const char *s, const char *what, uint64_t *out);

/*
 * key=value options, e.g. "vm run 1 cpu=3 exits=100": describe the accepted
 * keys in a table and let shell_parse_opts() fill them in.  Every argument
 * must be a known key=value; an unknown key, a bare word, a repeated key or a
 * bad value is an error naming it, and the table lists what was expected.
 * Options not given keep the value the caller put there (its default).
 */
enum shell_opt_type {
	SHELL_OPT_U64,   /* number in [min, max] (max 0 = no limit) -> *u64 */
	SHELL_OPT_STR,   /* any non-empty text -> *str (points into argv) */
	SHELL_OPT_CPU,   /* a CPU number, as shell_arg_cpu() -> *u64 */
};

struct shell_opt {
	const char *key;          /* without the '=' */
	enum shell_opt_type type;
	uint64_t min, max;        /* SHELL_OPT_U64 */
	uint64_t *u64;
	const char **str;
	bool *given;              /* optional: set when the option appeared */
};

#define SHELL_OPT_NUM(k, ptr) \
	{ .key = (k), .type = SHELL_OPT_U64, .u64 = (ptr) }
#define SHELL_OPT_RANGE(k, lo, hi, ptr) \
	{ .key = (k), .type = SHELL_OPT_U64, .min = (lo), .max = (hi), .u64 = (ptr) }
#define SHELL_OPT_CPUNR(k, ptr) \
	{ .key = (k), .type = SHELL_OPT_CPU, .u64 = (ptr) }
#define SHELL_OPT_TEXT(k, ptr) \
	{ .key = (k), .type = SHELL_OPT_STR, .str = (ptr) }

/* Parse argv[0..argc-1] (pass argc - first, argv + first to skip positional
 * arguments).  Returns 0, or -1 with the error recorded. */
int shell_parse_opts(struct shell_ctx *ctx, int argc, char **argv,
		     const struct shell_opt *opts, size_t nopts);

#endif

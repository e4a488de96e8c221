/*
 * From a tokenised line to the command's function: the argument counts a
 * command registered and its sub-command table are checked here, once, so
 * every command answers a wrong count and an unknown sub-command alike
 * (docs/console.md, "Error messages the shell itself produces").
 */
#include <vigil/shell.h>
#include <vigil/string.h>

static bool count_ok(int nargs, int min_args, int max_args)
{
	return nargs >= min_args && nargs <= max_args;
}

/* "unknown vm subcommand 'frob' (expected create, destroy, list or run)" */
static int unknown_subcmd(struct shell_ctx *ctx, const struct shell_cmd *cmd, const char *word)
{
	char names[SHELL_ERROR_MAX / 2];
	size_t used = 0;

	names[0] = '\0';
	for (size_t i = 0; i < cmd->nr_subcmds && used < sizeof(names); i++) {
		const char *sep = i == 0 ? "" : i + 1 == cmd->nr_subcmds ? " or " : ", ";
		int n = snprintf(names + used, sizeof(names) - used, "%s%s", sep, cmd->subcmds[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return shell_error(ctx, "unknown %s subcommand '%.40s' (expected %s)", cmd->name, word, names);
}

int shell_dispatch(struct shell_ctx *ctx, int argc, char **argv)
{
	const struct shell_cmd *cmd = shell_current(ctx);

	if (argc >= 2) {
		for (size_t i = 0; i < cmd->nr_subcmds; i++) {
			const struct shell_subcmd *sub = &cmd->subcmds[i];
			if (strcmp(sub->name, argv[1]))
				continue;
			if (!count_ok(argc - 2, sub->min_args, sub->max_args))
				return shell_usage(ctx);
			return sub->run(ctx, argc - 1, argv + 1);
		}
		/* A word where only sub-commands can stand is an unknown one;
		 * a command whose own form takes arguments ("inject <point>",
		 * "selftest <name>") judges that word itself. */
		if (cmd->nr_subcmds && (!cmd->run || cmd->max_args == 0))
			return unknown_subcmd(ctx, cmd, argv[1]);
	}
	if (!cmd->run || !count_ok(argc - 1, cmd->min_args, cmd->max_args))
		return shell_usage(ctx);
	return cmd->run(ctx, argc, argv);
}

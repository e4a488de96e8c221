/*
 * Console command `lockdep` (docs/console.md):
 *
 *     classes=<k> deps=<k> violations=<k>
 *     violation=1 kind=cycle locks=A,B task=<t> site=<file:line>
 *     ...                                  one line per kept violation
 *     ok
 *
 * Violations beyond the kept list are counted in violations= only; a last
 * line "not_shown=<k>" says how many lines are missing.  Reports planted by
 * self-tests inside expect windows are not violations and do not appear.
 */
#include <vigil/lockdep.h>
#include <vigil/shell.h>

static int cmd_lockdep(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct lockdep_stats st;
	lockdep_get_stats(&st);
	shell_printf(ctx, "classes=%u deps=%u violations=%u\n", st.classes, st.deps,
		     st.violations);
	char line[LOCKDEP_SUMMARY_MAX];
	for (unsigned i = 0; lockdep_violation_line(i, line, sizeof(line)); i++)
		shell_printf(ctx, "%s\n", line);
	if (st.violations > st.kept)
		shell_printf(ctx, "not_shown=%u\n", st.violations - st.kept);
	return 0;
}

SHELL_CMD(lockdep, "lockdep", .run = cmd_lockdep,
	  .help = "Lock validator counters, then one line per violation seen since boot.");

/*
 * The autorun= boot parameter: console commands to run at boot, separated by
 * ';' (run by shell_autorun(), core/console/autorun.c).  Commands with blanks
 * need quotes on the command line: autorun="vm create;vm run 1 cpu=2".
 *
 * Checked here, at boot, rather than when the commands run, so a mistake is
 * reported with the other command-line problems.
 */
#include <vigil/cmdline.h>
#include <vigil/shell.h>

_Static_assert(SHELL_LINE_MAX == 255, "the expectation text below names the limit");

/* At least one non-blank command; each command fits a console line. */
static int check_autorun(const char *v)
{
	bool any = false;
	size_t len = 0;

	for (; ; v++) {
		if (*v == ';' || !*v) {
			if (len > SHELL_LINE_MAX)
				return -1;
			len = 0;
			if (!*v)
				break;
			continue;
		}
		len++;
		if (*v != ' ' && *v != '\t')
			any = true;
	}
	return any ? 0 : -1;
}
BOOT_PARAM_STRING(autorun, "<command>[;<command>...], each at most 255 bytes",
		  check_autorun);

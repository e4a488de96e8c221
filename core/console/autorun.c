/*
 * autorun=<cmd>[;<cmd>...]: console commands run at boot exactly as if typed
 * (docs/console.md, "autorun").  Each one is echoed after a prompt,
 * so a boot log reads like an interactive session and the harness parses
 * both the same way.  The parameter itself is in autorun_param.c.
 */
#include <vigil/boot_info.h>
#include <vigil/shell.h>
#include <vigil/string.h>

void shell_autorun(const char *commands)
{
	char line[BOOT_CMDLINE_MAX];
	const char *s = commands ? commands : "";

	while (*s) {
		const char *end = strchr(s, ';');
		size_t len = end ? (size_t)(end - s) : strlen(s);

		/* Trim blanks around the command: "help; version" is two commands. */
		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len) {
			/* A command over SHELL_LINE_MAX still fits here (cut at
			 * the buffer size), so the shell rejects it in the same
			 * words as a typed one. */
			if (len >= sizeof(line))
				len = sizeof(line) - 1;
			memcpy(line, s, len);
			line[len] = '\0';
			shell_exec_line(line);
		}
		if (!end)
			break;
		s = end + 1;
	}
}

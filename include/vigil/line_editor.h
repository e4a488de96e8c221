/*
 * Console line editor: turns the raw bytes a terminal (or the test harness)
 * sends into whole command lines, echoing what the user should see.
 *
 * It is a pure state machine fed one byte at a time, with no I/O of its own:
 * echo goes through a callback, so the same code runs under the kernel's
 * UART loop and in host unit tests.  Editing keys (docs/console.md):
 *
 *   printable ASCII  appended and echoed
 *   BS (0x08), DEL   erase the last character (echo "\b \b")
 *   Ctrl-U (0x15)    erase the whole line
 *   Ctrl-C (0x03)    abandon the line (echo "^C\n"), result LE_CANCELLED
 *   CR or LF         end the line (echo "\n"), result LE_LINE_READY; the LF of
 *                    a CRLF pair (or the CR of LFCR) is swallowed, so every
 *                    terminal convention gives exactly one line
 *   ESC sequences    (arrow and function keys) swallowed whole
 *   anything else    ignored (tabs, other control bytes, bytes >= 0x80)
 *
 * A line may hold LE_MAX_LINE bytes.  A longer one is rejected whole: further
 * characters are neither stored nor echoed, and the end of line yields
 * LE_LINE_TOO_LONG instead of a truncated command.
 */
#ifndef VIGIL_LINE_EDITOR_H
#define VIGIL_LINE_EDITOR_H

#include <vigil/types.h>

#define LE_MAX_LINE 255

enum le_result {
	LE_NONE,          /* byte consumed, line not finished */
	LE_LINE_READY,    /* le_line() holds a complete line (possibly empty) */
	LE_LINE_TOO_LONG, /* the line exceeded LE_MAX_LINE and was discarded */
	LE_CANCELLED,     /* Ctrl-C: the line was abandoned */
};

typedef void (*le_echo_fn)(const char *s, size_t n, void *ctx);

struct line_editor {
	char buf[LE_MAX_LINE + 1]; /* always NUL-terminated */
	size_t len;
	bool overflow;     /* more than LE_MAX_LINE bytes typed: reject at EOL */
	bool finished;     /* the last byte completed a line; reset on the next */
	int swallow_eol;   /* '\n' after a CR ended the line, '\r' after an LF; else 0 */
	int esc;           /* escape-sequence state (line_editor.c) */
	le_echo_fn echo;
	void *echo_ctx;
};

/* Start with an empty line.  echo may be NULL (nothing is echoed). */
void le_init(struct line_editor *le, le_echo_fn echo, void *echo_ctx);

/* Feed one byte (0..255; negative values, "no byte", are ignored). */
enum le_result le_feed(struct line_editor *le, int byte);

/* The current line, NUL-terminated.  After LE_LINE_READY it is the finished
 * line, valid until the next le_feed(). */
static inline const char *le_line(const struct line_editor *le) { return le->buf; }
static inline size_t le_len(const struct line_editor *le) { return le->len; }

#endif

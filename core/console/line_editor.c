/*
 * Console line editor (see include/vigil/line_editor.h for the key table).
 *
 * Escape sequences: terminals send arrow and function keys as ECMA-48
 * control sequences, "ESC [ <parameter bytes 0x30-0x3f> <intermediate bytes
 * 0x20-0x2f> <final byte 0x40-0x7e>" (CSI, e.g. ESC [ A for Up, ESC [ 3 ~ for
 * Delete), or in "application cursor" mode "ESC O <final>" (SS3).  The editor
 * has no cursor movement or history, so it swallows whole sequences rather
 * than letting "[A" land in the command.  A control byte inside a sequence
 * ends it and is then handled normally, so ESC followed by Enter or Ctrl-C
 * still does what the user expects.
 */
#include <vigil/line_editor.h>

enum {
	ESC_NONE,
	ESC_SEEN, /* got ESC, waiting for '[' / 'O' / anything */
	ESC_CSI,  /* inside ESC [ ..., waiting for the final byte */
	ESC_SS3,  /* got ESC O, the next byte is the final one */
};

#define CH_CTRL_C 0x03
#define CH_BS     0x08
#define CH_LF     0x0a
#define CH_CR     0x0d
#define CH_CTRL_U 0x15
#define CH_ESC    0x1b
#define CH_DEL    0x7f

static void echo(struct line_editor *le, const char *s, size_t n)
{
	if (le->echo)
		le->echo(s, n, le->echo_ctx);
}

static void reset_line(struct line_editor *le)
{
	le->len = 0;
	le->buf[0] = '\0';
	le->overflow = false;
}

void le_init(struct line_editor *le, le_echo_fn echo_fn, void *echo_ctx)
{
	reset_line(le);
	le->finished = false;
	le->swallow_eol = 0;
	le->esc = ESC_NONE;
	le->echo = echo_fn;
	le->echo_ctx = echo_ctx;
}

/* Erase the whole visible line.  After an overflow exactly LE_MAX_LINE
 * characters are on screen (the rest were never echoed). */
static void erase_all(struct line_editor *le)
{
	for (size_t i = 0; i < le->len; i++)
		echo(le, "\b \b", 3);
	reset_line(le);
}

/* Returns true when the byte belonged to an escape sequence and is done with. */
static bool in_escape(struct line_editor *le, int c)
{
	bool control = c < 0x20 || c == CH_DEL;

	switch (le->esc) {
	case ESC_SEEN:
		if (c == CH_ESC)
			return true; /* ESC ESC: the second one starts the sequence */
		if (control) {
			le->esc = ESC_NONE;
			return false;
		}
		le->esc = c == '[' ? ESC_CSI : c == 'O' ? ESC_SS3 : ESC_NONE;
		return true; /* '[' / 'O', or the single byte of an Alt-key pair */
	case ESC_CSI:
		if (c >= 0x20 && c <= 0x3f)
			return true; /* parameter / intermediate byte */
		le->esc = ESC_NONE;
		return !control; /* final byte (or junk) ends it */
	case ESC_SS3:
		le->esc = ESC_NONE;
		return !control;
	default:
		if (c == CH_ESC) {
			le->esc = ESC_SEEN;
			return true;
		}
		return false;
	}
}

enum le_result le_feed(struct line_editor *le, int c)
{
	if (c < 0 || c > 0xff)
		return LE_NONE;

	if (le->finished) {
		/* The caller has consumed the previous line by now. */
		reset_line(le);
		le->finished = false;
	}

	/* CRLF / LFCR: the partner of the byte that just ended a line is not a
	 * second (empty) line.  Only the very next byte can be a partner. */
	if (le->swallow_eol) {
		int partner = le->swallow_eol;
		le->swallow_eol = 0;
		if (c == partner)
			return LE_NONE;
	}

	if (in_escape(le, c))
		return LE_NONE;

	switch (c) {
	case CH_CR:
	case CH_LF:
		le->swallow_eol = c == CH_CR ? CH_LF : CH_CR;
		le->finished = true;
		echo(le, "\n", 1);
		if (le->overflow) {
			reset_line(le);
			return LE_LINE_TOO_LONG;
		}
		return LE_LINE_READY;
	case CH_CTRL_C:
		echo(le, "^C\n", 3);
		reset_line(le);
		return LE_CANCELLED;
	case CH_CTRL_U:
		erase_all(le);
		return LE_NONE;
	case CH_BS:
	case CH_DEL:
		/* After an overflow the stored text no longer matches what was
		 * typed, so erasing one character cannot rescue the line. */
		if (le->len && !le->overflow) {
			le->buf[--le->len] = '\0';
			echo(le, "\b \b", 3);
		}
		return LE_NONE;
	default:
		break;
	}

	if (c < 0x20 || c >= 0x7f)
		return LE_NONE; /* other control bytes, 8-bit bytes: ignored */

	if (le->overflow)
		return LE_NONE;
	if (le->len == LE_MAX_LINE) {
		le->overflow = true;
		return LE_NONE;
	}
	le->buf[le->len++] = (char)c;
	le->buf[le->len] = '\0';
	char ch = (char)c;
	echo(le, &ch, 1);
	return LE_NONE;
}

/*
 * Host tests for the console line editor (core/console/line_editor.c): every
 * editing key, every end-of-line convention, the 255-byte limit, escape
 * sequences, and exactly what is echoed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/line_editor.h>
#include <vigil/string.h>

static char echoed[4096];
static size_t echoed_len;

static void capture(const char *s, size_t n, void *ctx)
{
	assert_ptr_equal(ctx, &echoed_len);
	assert_true(echoed_len + n < sizeof(echoed));
	memcpy(echoed + echoed_len, s, n);
	echoed_len += n;
	echoed[echoed_len] = '\0';
}

static struct line_editor le;

static int setup(void **state)
{
	(void)state;
	echoed_len = 0;
	echoed[0] = '\0';
	le_init(&le, capture, &echoed_len);
	return 0;
}

/* Feed every byte of s (length n); return the result of the last byte and
 * check that no earlier byte finished anything. */
static enum le_result feedn(const char *s, size_t n)
{
	enum le_result r = LE_NONE;

	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_int_equal(r, LE_NONE);
		r = le_feed(&le, (unsigned char)s[i]);
	}
	return r;
}
#define feed(lit) feedn((lit), sizeof(lit) - 1)

static void clear_echo(void)
{
	echoed_len = 0;
	echoed[0] = '\0';
}

static void printable_bytes_are_stored_and_echoed(void **state)
{
	(void)state;
	assert_int_equal(feed("vm run 1 cpu=2"), LE_NONE);
	assert_string_equal(echoed, "vm run 1 cpu=2");
	assert_int_equal(feed("\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "vm run 1 cpu=2");
	assert_int_equal(le_len(&le), 14);
	assert_string_equal(echoed, "vm run 1 cpu=2\n");
}

static void cr_and_lf_each_end_a_line(void **state)
{
	(void)state;
	assert_int_equal(feed("a\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "a");
	assert_int_equal(feed("b\n"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "b");
	assert_string_equal(echoed, "a\nb\n");
}

static void crlf_and_lfcr_are_one_end_of_line(void **state)
{
	(void)state;
	assert_int_equal(feed("a\r"), LE_LINE_READY);
	assert_int_equal(feed("\n"), LE_NONE); /* partner swallowed */
	assert_int_equal(feed("b\n"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "b");
	assert_int_equal(feed("\r"), LE_NONE);
	assert_int_equal(feed("c\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "c");
	assert_string_equal(echoed, "a\nb\nc\n");
}

static void repeated_eol_gives_empty_lines(void **state)
{
	(void)state;
	/* CR CR: two lines (the second empty); CRLF CRLF: two lines. */
	assert_int_equal(feed("\r"), LE_LINE_READY);
	assert_int_equal(feed("\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "");
	assert_int_equal(feed("\n"), LE_NONE);
	assert_int_equal(feed("\n"), LE_LINE_READY);
	assert_int_equal(le_len(&le), 0);
	/* Only the very next byte can be the partner. */
	assert_int_equal(feed("x\r"), LE_LINE_READY);
	assert_int_equal(feed("y"), LE_NONE);
	assert_int_equal(feed("\n"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "y");
}

static void backspace_and_del_erase_one(void **state)
{
	(void)state;
	feed("abc");
	clear_echo();
	assert_int_equal(feed("\b"), LE_NONE);
	assert_string_equal(echoed, "\b \b");
	assert_string_equal(le_line(&le), "ab");
	assert_int_equal(feed("\x7f"), LE_NONE);
	assert_string_equal(echoed, "\b \b\b \b");
	assert_string_equal(le_line(&le), "a");
	feed("\b");
	clear_echo();
	/* Nothing left: nothing to erase on screen either. */
	assert_int_equal(feed("\b\x7f"), LE_NONE);
	assert_string_equal(echoed, "");
	assert_int_equal(feed("z\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "z");
}

static void ctrl_u_clears_the_line(void **state)
{
	(void)state;
	feed("abc");
	clear_echo();
	assert_int_equal(feed("\x15"), LE_NONE);
	assert_string_equal(echoed, "\b \b\b \b\b \b");
	assert_int_equal(le_len(&le), 0);
	clear_echo();
	assert_int_equal(feed("\x15"), LE_NONE); /* empty: no echo */
	assert_string_equal(echoed, "");
	assert_int_equal(feed("x\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "x");
}

static void ctrl_c_abandons_the_line(void **state)
{
	(void)state;
	feed("vm destroy");
	clear_echo();
	assert_int_equal(feed("\x03"), LE_CANCELLED);
	assert_string_equal(echoed, "^C\n");
	assert_int_equal(le_len(&le), 0);
	/* Ctrl-C on an empty line too; and it does not swallow a following LF. */
	assert_int_equal(feed("\x03"), LE_CANCELLED);
	assert_int_equal(feed("\n"), LE_LINE_READY);
	assert_int_equal(feed("ok\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "ok");
}

static void other_bytes_are_ignored(void **state)
{
	(void)state;
	static const int junk[] = { 0x00, 0x01, 0x02, 0x04, 0x07, 0x09, 0x0b, 0x0c, 0x0e,
				    0x1a, 0x1c, 0x1f, 0x80, 0x9b, 0xc3, 0xff, -1, 256 };

	feed("a");
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++)
		assert_int_equal(le_feed(&le, junk[i]), LE_NONE);
	feed("b");
	assert_string_equal(echoed, "ab");
	assert_int_equal(feed("\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "ab");
}

static void escape_sequences_are_swallowed(void **state)
{
	(void)state;
	/* Arrows (CSI and SS3), Delete, Ctrl-Right, F1, F5, Alt-x. */
	assert_int_equal(feed("a\x1b[A\x1b[B\x1b[C\x1b[Db"), LE_NONE);
	assert_int_equal(feed("\x1bOA\x1bOP\x1b[3~\x1b[1;5C\x1b[15~c"), LE_NONE);
	assert_int_equal(feed("\x1bxd"), LE_NONE);
	assert_int_equal(feed("\x1b\x1b[Ae"), LE_NONE);
	assert_string_equal(echoed, "abcde");
	assert_int_equal(feed("\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "abcde");
}

static void control_byte_ends_an_escape_sequence(void **state)
{
	(void)state;
	/* ESC then Enter: the Enter still ends the line. */
	feed("ab");
	assert_int_equal(feed("\x1b\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "ab");
	/* Half a CSI then Ctrl-C: the Ctrl-C still cancels. */
	feed("x");
	assert_int_equal(feed("\x1b[1\x03"), LE_CANCELLED);
	/* After that, the editor is back to normal. */
	assert_int_equal(feed("[A\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "[A");
}

static void line_of_255_bytes_is_accepted(void **state)
{
	char line[LE_MAX_LINE + 1];

	(void)state;
	memset(line, 'x', LE_MAX_LINE);
	line[LE_MAX_LINE] = '\0';
	assert_int_equal(feedn(line, LE_MAX_LINE), LE_NONE);
	assert_int_equal(feed("\r"), LE_LINE_READY);
	assert_int_equal(le_len(&le), 255);
	assert_string_equal(le_line(&le), line);
	assert_int_equal(echoed_len, 256); /* 255 x + newline */
}

static void line_of_256_bytes_is_rejected_whole(void **state)
{
	char line[300];

	(void)state;
	memset(line, 'y', sizeof(line));
	assert_int_equal(feedn(line, 256), LE_NONE);
	/* Keeps swallowing until the end of line... */
	assert_int_equal(feedn(line, sizeof(line)), LE_NONE);
	assert_int_equal(feed("\r"), LE_LINE_TOO_LONG);
	/* ...echoing only what fitted, then the newline. */
	assert_int_equal(echoed_len, 256);
	assert_int_equal(echoed[255], '\n');
	assert_int_equal(le_len(&le), 0);
	/* The next line is a fresh one, and the CRLF rule still holds. */
	assert_int_equal(feed("\nok\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "ok");
}

static void overflow_is_sticky_until_eol_ctrl_c_or_ctrl_u(void **state)
{
	char line[LE_MAX_LINE + 5];

	(void)state;
	memset(line, 'z', sizeof(line));
	/* Backspace cannot bring an overflowed line back under the limit. */
	feedn(line, LE_MAX_LINE + 2);
	clear_echo();
	assert_int_equal(feed("\b\b\b\b"), LE_NONE);
	assert_string_equal(echoed, "");
	assert_int_equal(feed("\n"), LE_LINE_TOO_LONG);

	/* Ctrl-C drops it without an error. */
	feedn(line, sizeof(line));
	assert_int_equal(feed("\x03"), LE_CANCELLED);
	assert_int_equal(feed("a\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "a");

	/* Ctrl-U erases the 255 characters on screen and starts afresh. */
	feedn(line, sizeof(line));
	clear_echo();
	assert_int_equal(feed("\x15"), LE_NONE);
	assert_int_equal(echoed_len, 3 * LE_MAX_LINE);
	assert_int_equal(feed("b\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "b");
}

static void no_echo_callback_is_fine(void **state)
{
	(void)state;
	le_init(&le, NULL, NULL);
	assert_int_equal(feed("ab\b\x15q\x03"), LE_CANCELLED);
	assert_int_equal(feed("w\r"), LE_LINE_READY);
	assert_string_equal(le_line(&le), "w");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(printable_bytes_are_stored_and_echoed, setup),
		cmocka_unit_test_setup(cr_and_lf_each_end_a_line, setup),
		cmocka_unit_test_setup(crlf_and_lfcr_are_one_end_of_line, setup),
		cmocka_unit_test_setup(repeated_eol_gives_empty_lines, setup),
		cmocka_unit_test_setup(backspace_and_del_erase_one, setup),
		cmocka_unit_test_setup(ctrl_u_clears_the_line, setup),
		cmocka_unit_test_setup(ctrl_c_abandons_the_line, setup),
		cmocka_unit_test_setup(other_bytes_are_ignored, setup),
		cmocka_unit_test_setup(escape_sequences_are_swallowed, setup),
		cmocka_unit_test_setup(control_byte_ends_an_escape_sequence, setup),
		cmocka_unit_test_setup(line_of_255_bytes_is_accepted, setup),
		cmocka_unit_test_setup(line_of_256_bytes_is_rejected_whole, setup),
		cmocka_unit_test_setup(overflow_is_sticky_until_eol_ctrl_c_or_ctrl_u, setup),
		cmocka_unit_test_setup(no_echo_callback_is_fine, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

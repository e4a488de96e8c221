/*
 * Framebuffer console (drivers/fb): the text renderer drawing into malloc'd
 * "framebuffers", checked pixel by pixel against the font table, plus the
 * fbcon_init/fbcon_write wrapper.  Framebuffers are allocated to their exact
 * size (pitch * height) so AddressSanitizer catches any stray write, and
 * filled with a sentinel so untouched pixels (pitch padding) are visible.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vigil/fbcon.h>

#include "fbtext.h"
#include "font8x16.h"

#define SENTINEL 0xdeadbeefu

static struct fbtext T;           /* ~130 KiB: too big for the stack */
static struct fbtext T2, snapshot;

struct fakefb {
	struct boot_framebuffer fb;
	uint32_t *px;
};

static struct fakefb fake_fb(uint32_t width, uint32_t height, uint32_t pitch_px, uint32_t format)
{
	struct fakefb f = {
		.fb = { .base = 0xfd000000, .width = width, .height = height, .pitch = pitch_px * 4,
			.bpp = 32, .format = format },
	};
	size_t n = (size_t)pitch_px * height;
	f.px = malloc(n * 4);
	assert_non_null(f.px);
	for (size_t i = 0; i < n; i++)
		f.px[i] = SENTINEL;
	return f;
}

/* Set up T on a fresh framebuffer with the cursor hidden (most tests look
 * only at text). */
static struct fakefb text_screen(uint32_t width, uint32_t height, uint32_t format)
{
	struct fakefb f = fake_fb(width, height, width, format);
	assert_true(fbtext_init(&T, &f.fb, f.px));
	fbtext_set_cursor(&T, false);
	return f;
}

static void put(struct fbtext *t, const char *s)
{
	fbtext_write(t, s, strlen(s));
}

static uint32_t pixel(const struct fbtext *t, uint32_t x, uint32_t y)
{
	return ((const uint32_t *)(t->pixels + (size_t)y * t->pitch))[x];
}

/* Does cell (col, row) show exactly this glyph (with the cursor underline)? */
static bool cell_shows_glyph(const struct fbtext *t, uint32_t col, uint32_t row, const uint8_t *glyph,
			     bool cursor)
{
	for (uint32_t y = 0; y < 16; y++) {
		uint32_t bits = glyph[y];
		if (cursor && y >= 16 - FBTEXT_CURSOR_LINES)
			bits = 0xff;
		for (uint32_t x = 0; x < 8; x++) {
			uint32_t want = (bits & (0x80u >> x)) ? t->fg : t->bg;
			if (pixel(t, col * 8 + x, row * 16 + y) != want)
				return false;
		}
	}
	return true;
}

static bool cell_shows(const struct fbtext *t, uint32_t col, uint32_t row, char c)
{
	return cell_shows_glyph(t, col, row, font8x16_glyph((uint8_t)c), false);
}

/* Every cell of the grid shows the given rows of text (shorter rows and
 * missing rows are blank). */
static void assert_screen(const struct fbtext *t, const char *const *lines, size_t nlines)
{
	for (uint32_t r = 0; r < t->rows; r++) {
		const char *l = r < nlines ? lines[r] : "";
		size_t len = strlen(l);
		for (uint32_t c = 0; c < t->cols; c++) {
			char want = c < len ? l[c] : ' ';
			if (!cell_shows(t, c, r, want))
				fail_msg("cell (%u, %u) does not show '%c'", c, r, want);
		}
	}
}

/* ---- the font ---- */

static void test_font_glyphs_are_distinct_and_inked(void **state)
{
	(void)state;
	static const uint8_t blank[16];

	assert_memory_equal(font8x16[0], blank, 16); /* space */
	for (int i = 1; i < FONT8X16_COUNT; i++) {
		if (memcmp(font8x16[i], blank, 16) == 0)
			fail_msg("glyph 0x%02x is empty", i + FONT8X16_FIRST);
		if (memcmp(font8x16[i], font8x16_box, 16) == 0)
			fail_msg("glyph 0x%02x looks like the box", i + FONT8X16_FIRST);
		for (int j = 0; j < i; j++)
			if (memcmp(font8x16[i], font8x16[j], 16) == 0)
				fail_msg("glyphs 0x%02x and 0x%02x are identical", i + FONT8X16_FIRST,
					 j + FONT8X16_FIRST);
	}
	/* Column 7 separates cells; only '_' fills it so that runs join.
	 * Lines 0, 1 and 15 separate text lines. */
	for (int i = 0; i < FONT8X16_COUNT; i++) {
		const uint8_t *g = font8x16[i];
		if (i + FONT8X16_FIRST != '_')
			for (int y = 0; y < 16; y++)
				if (g[y] & 1)
					fail_msg("glyph 0x%02x inks column 7", i + FONT8X16_FIRST);
		if (g[0] | g[1] | g[15])
			fail_msg("glyph 0x%02x inks line 0, 1 or 15", i + FONT8X16_FIRST);
	}
	assert_ptr_equal(font8x16_glyph('A'), font8x16['A' - 0x20]);
	assert_ptr_equal(font8x16_glyph(0x1f), font8x16_box);
	assert_ptr_equal(font8x16_glyph(0x7f), font8x16_box);
	assert_ptr_equal(font8x16_glyph(0xff), font8x16_box);
}

/* ---- init ---- */

static void test_init_clears_screen_and_keeps_pitch_padding(void **state)
{
	(void)state;
	/* 100x50: a 12x3 grid with a 4-pixel right and 2-line bottom margin;
	 * 10 pixels of padding per scan line that are not ours to touch. */
	struct fakefb f = fake_fb(100, 50, 110, BOOT_FB_BGRX);
	assert_true(fbtext_init(&T, &f.fb, f.px));
	assert_int_equal(T.cols, 12);
	assert_int_equal(T.rows, 3);
	assert_int_equal(T.cx, 0);
	assert_int_equal(T.cy, 0);
	for (uint32_t y = 0; y < 50; y++)
		for (uint32_t x = 0; x < 110; x++) {
			uint32_t p = f.px[y * 110 + x];
			bool cursor = x < 8 && y >= 16 - FBTEXT_CURSOR_LINES && y < 16;
			if (x >= 100)
				assert_int_equal(p, SENTINEL);
			else if (cursor)
				assert_int_equal(p, 0xc0c0c0);
			else
				assert_int_equal(p, 0);
		}
	free(f.px);
}

static void test_init_rejects_unusable_framebuffers(void **state)
{
	(void)state;
	struct fakefb f = fake_fb(64, 64, 64, BOOT_FB_RGBX);
	const struct boot_framebuffer good = f.fb;
	struct boot_framebuffer bad[16];
	size_t n = 0;

	bad[n] = good; bad[n++].bpp = 24;
	bad[n] = good; bad[n++].bpp = 16;
	bad[n] = good; bad[n++].format = BOOT_FB_NONE;
	bad[n] = good; bad[n++].format = 3;
	bad[n] = good; bad[n++].width = 0;
	bad[n] = good; bad[n++].width = 7;            /* narrower than a cell */
	bad[n] = good; bad[n++].height = 0;
	bad[n] = good; bad[n++].height = 15;          /* shorter than a cell */
	bad[n] = good; bad[n].width = FBTEXT_MAX_WIDTH + 1; bad[n++].pitch = (FBTEXT_MAX_WIDTH + 1) * 4;
	bad[n] = good; bad[n++].height = FBTEXT_MAX_HEIGHT + 1;
	bad[n] = good; bad[n++].pitch = 63 * 4;       /* less than width * 4 */
	bad[n] = good; bad[n++].pitch = 64 * 4 + 2;   /* not whole pixels */
	bad[n] = good; bad[n++].pitch = FBTEXT_MAX_PITCH + 4;

	memset(&snapshot, 0x5a, sizeof(snapshot));
	memcpy(&T, &snapshot, sizeof(T));
	for (size_t i = 0; i < n; i++) {
		if (fbtext_init(&T, &bad[i], f.px))
			fail_msg("bad framebuffer %zu accepted", i);
		if (fbcon_init(&bad[i], f.px))
			fail_msg("bad framebuffer %zu accepted by fbcon_init", i);
	}
	assert_false(fbtext_init(&T, NULL, f.px));
	assert_false(fbtext_init(&T, &good, NULL));
	assert_false(fbtext_init(&T, &good, (uint8_t *)f.px + 2)); /* misaligned */
	assert_false(fbcon_init(NULL, f.px));
	assert_false(fbcon_init(&good, NULL));
	struct boot_framebuffer no_base = good;
	no_base.base = 0;
	assert_false(fbcon_init(&no_base, f.px));
	/* Rejection leaves the state and the pixels alone. */
	assert_memory_equal(&T, &snapshot, sizeof(T));
	for (size_t i = 0; i < 64 * 64; i++)
		assert_int_equal(f.px[i], SENTINEL);

	/* The same buffer with the good description is accepted. */
	assert_true(fbtext_init(&T, &good, f.px));
	free(f.px);
}

/* ---- drawing ---- */

static void test_glyph_pixels_land_in_their_cell(void **state)
{
	(void)state;
	struct fakefb f = text_screen(800, 32, BOOT_FB_BGRX);
	char all[FONT8X16_COUNT + 1];
	for (int i = 0; i < FONT8X16_COUNT; i++)
		all[i] = (char)(i + FONT8X16_FIRST);
	all[FONT8X16_COUNT] = '\0';

	put(&T, all);
	for (int i = 0; i < FONT8X16_COUNT; i++)
		if (!cell_shows(&T, (uint32_t)i, 0, all[i]))
			fail_msg("cell %d does not show '%c'", i, all[i]);
	assert_true(cell_shows(&T, FONT8X16_COUNT, 0, ' '));
	assert_int_equal(T.cx, FONT8X16_COUNT);

	/* Independent of the table: 'H' has its crossbar on line 6, columns
	 * 0-6, light grey on black. */
	uint32_t hx = ('H' - FONT8X16_FIRST) * 8;
	for (uint32_t x = 0; x < 7; x++)
		assert_int_equal(pixel(&T, hx + x, 6), 0xc0c0c0);
	assert_int_equal(pixel(&T, hx + 7, 6), 0);
	assert_int_equal(pixel(&T, hx + 3, 5), 0);  /* inside the H */
	assert_int_equal(pixel(&T, hx, 0), 0);      /* blank top lines */
	free(f.px);
}

static void test_rgbx_and_bgrx_channel_order(void **state)
{
	(void)state;
	static const uint32_t formats[] = { BOOT_FB_RGBX, BOOT_FB_BGRX };

	assert_int_equal(fbtext_pixel(BOOT_FB_RGBX, 0x123456), 0x563412);
	assert_int_equal(fbtext_pixel(BOOT_FB_BGRX, 0x123456), 0x123456);
	for (size_t i = 0; i < 2; i++) {
		struct fakefb f = text_screen(64, 32, formats[i]);
		fbtext_set_colors(&T, 0xff0000 /* red */, 0x0000ff /* blue */);
		put(&T, "H");
		const uint8_t *ink = (const uint8_t *)&f.px[6 * 64 + 0];   /* crossbar */
		const uint8_t *paper = (const uint8_t *)&f.px[6 * 64 + 7]; /* gap column */
		int red = formats[i] == BOOT_FB_RGBX ? 0 : 2, blue = 2 - red;
		assert_int_equal(ink[red], 0xff);
		assert_int_equal(ink[1], 0);
		assert_int_equal(ink[blue], 0);
		assert_int_equal(paper[blue], 0xff);
		assert_int_equal(paper[red], 0);
		/* The colour change repainted everything, margins included. */
		assert_true(cell_shows(&T, 5, 1, ' '));
		free(f.px);
	}
}

static void test_newline_and_carriage_return(void **state)
{
	(void)state;
	struct fakefb f = text_screen(80, 64, BOOT_FB_RGBX);
	put(&T, "AB\nC");
	assert_screen(&T, (const char *[]){ "AB", "C" }, 2);
	put(&T, "D\rX");
	assert_screen(&T, (const char *[]){ "AB", "XD" }, 2);
	put(&T, "\r\n\n");
	assert_int_equal(T.cy, 3);
	assert_int_equal(T.cx, 0);
	free(f.px);
}

static void test_backspace(void **state)
{
	(void)state;
	struct fakefb f = text_screen(80, 32, BOOT_FB_RGBX);
	put(&T, "\b");                  /* at column 0 of the first row: nothing */
	assert_int_equal(T.cx, 0);
	put(&T, "AB\bC");
	assert_screen(&T, (const char *[]){ "AC" }, 1);
	put(&T, "\b \b");               /* the line editor's erase */
	assert_screen(&T, (const char *[]){ "A" }, 1);
	assert_int_equal(T.cx, 1);
	put(&T, "\n\b");                /* a hard line break is not crossed */
	assert_int_equal(T.cy, 1);
	assert_int_equal(T.cx, 0);
	free(f.px);
}

static void test_tab_stops(void **state)
{
	(void)state;
	struct fakefb f = text_screen(96, 64, BOOT_FB_RGBX); /* 12x4 */
	put(&T, "\tX\n");
	put(&T, "ABCDEFG\tY\n");
	put(&T, "ABCDEFGH\tZ");
	/* 16 is past the edge: the tab stops there, Z wraps. */
	assert_screen(&T, (const char *[]){ "        X", "ABCDEFG Y", "ABCDEFGH", "Z" }, 4);
	assert_int_equal(T.cx, 1);
	free(f.px);

	/* Likewise from column 10 of 12. */
	f = text_screen(96, 48, BOOT_FB_RGBX);
	put(&T, "0123456789\tW");
	assert_screen(&T, (const char *[]){ "0123456789", "W" }, 2);
	free(f.px);
}

static void test_long_lines_wrap(void **state)
{
	(void)state;
	struct fakefb f = text_screen(80, 64, BOOT_FB_RGBX); /* 10x4 */
	put(&T, "0123456789AB");
	assert_screen(&T, (const char *[]){ "0123456789", "AB" }, 2);
	free(f.px);

	/* Exactly a row's worth and then '\n': no empty row in between. */
	f = text_screen(80, 64, BOOT_FB_RGBX);
	put(&T, "0123456789");
	assert_int_equal(T.cy, 0);
	put(&T, "\nX");
	assert_screen(&T, (const char *[]){ "0123456789", "X" }, 2);

	/* Backspace crosses an automatic line break, so "\b \b" erases
	 * input that wrapped. */
	put(&T, "\n0123456789AB");
	assert_int_equal(T.cy, 3);
	put(&T, "\b \b\b \b\b \b");
	assert_int_equal(T.cy, 2);
	assert_int_equal(T.cx, 9);
	assert_screen(&T, (const char *[]){ "0123456789", "X", "012345678" }, 3);
	put(&T, "9!");
	assert_screen(&T, (const char *[]){ "0123456789", "X", "0123456789", "!" }, 4);
	free(f.px);

	/* The "continues the row above" marks scroll with the text: erase a
	 * 25-character input that wrapped twice and scrolled once. */
	f = text_screen(80, 48, BOOT_FB_RGBX); /* 10x3 */
	put(&T, "x\nabcdefghijklmnopqrstuvwxy");
	assert_screen(&T, (const char *[]){ "abcdefghij", "klmnopqrst", "uvwxy" }, 3);
	for (int i = 0; i < 16; i++)
		put(&T, "\b \b");
	assert_int_equal(T.cy, 0);
	assert_int_equal(T.cx, 9);
	assert_screen(&T, (const char *[]){ "abcdefghi" }, 1);
	for (int i = 0; i < 16; i++)  /* row 0 was not wrapped into: stop */
		put(&T, "\b \b");
	assert_int_equal(T.cx, 0);
	assert_screen(&T, NULL, 0);
	free(f.px);
}

static void test_scrolling_moves_content_up(void **state)
{
	(void)state;
	struct fakefb f = text_screen(80, 48, BOOT_FB_RGBX); /* 10x3 */
	put(&T, "one\ntwo\nthree");
	assert_screen(&T, (const char *[]){ "one", "two", "three" }, 3);
	put(&T, "\nfour");
	assert_screen(&T, (const char *[]){ "two", "three", "four" }, 3);
	put(&T, "\nlong line wraps");
	assert_screen(&T, (const char *[]){ "four", "long line ", "wraps" }, 3);
	put(&T, "\n\n");
	assert_screen(&T, (const char *[]){ "wraps" }, 1);
	assert_int_equal(T.cy, 2);
	free(f.px);

	/* Several rows at a time. */
	f = text_screen(80, 64, BOOT_FB_RGBX); /* 10x4 */
	fbtext_set_scroll_lines(&T, 2);
	put(&T, "1\n2\n3\n4\n5");
	assert_screen(&T, (const char *[]){ "3", "4", "5" }, 3);
	assert_int_equal(T.cy, 2);
	fbtext_set_scroll_lines(&T, 0);
	assert_int_equal(T.scroll_lines, 1);
	fbtext_set_scroll_lines(&T, 99);
	assert_int_equal(T.scroll_lines, 4);
	put(&T, "\n6\n"); /* the bottom reached: all 4 rows scroll away */
	assert_screen(&T, NULL, 0);
	assert_int_equal(T.cy, 0);
	free(f.px);
}

/* Scrolling only repaints cells that change, so check it against a screen
 * drawn from scratch with the same final text: the pixels must be identical. */
static void test_scrolled_screen_matches_fresh_render(void **state)
{
	(void)state;
	struct fakefb a = text_screen(160, 160, BOOT_FB_BGRX); /* 20x10 */
	char line[64];
	const uint32_t nlines = 300;
	for (uint32_t i = 0; i < nlines; i++) {
		int n = snprintf(line, sizeof(line), "%u:%.*s\n", i, (int)(i * 7 % 17), "abcdefghijklmnopq");
		fbtext_write(&T, line, (size_t)n);
	}

	struct fakefb b = fake_fb(160, 160, 160, BOOT_FB_BGRX);
	assert_true(fbtext_init(&T2, &b.fb, b.px));
	fbtext_set_cursor(&T2, false);
	for (uint32_t i = nlines - (T.rows - 1); i < nlines; i++) {
		int n = snprintf(line, sizeof(line), "%u:%.*s\n", i, (int)(i * 7 % 17), "abcdefghijklmnopq");
		fbtext_write(&T2, line, (size_t)n);
	}
	assert_int_equal(T.cy, T2.cy);
	assert_memory_equal(a.px, b.px, 160 * 160 * 4);
	free(a.px);
	free(b.px);
}

static void test_unknown_bytes_draw_a_box(void **state)
{
	(void)state;
	struct fakefb f = text_screen(80, 32, BOOT_FB_RGBX);
	put(&T, "\x01\x7f\x80\xff" "A");
	for (uint32_t c = 0; c < 4; c++)
		assert_true(cell_shows_glyph(&T, c, 0, font8x16_box, false));
	assert_true(cell_shows(&T, 4, 0, 'A'));
	fbtext_write(&T, "B\0C", 3); /* NUL is ignored */
	assert_true(cell_shows(&T, 5, 0, 'B'));
	assert_true(cell_shows(&T, 6, 0, 'C'));
	free(f.px);
}

static void test_escape_sequences_are_swallowed(void **state)
{
	(void)state;
	struct fakefb f = text_screen(80, 64, BOOT_FB_RGBX);
	put(&T, "\x1b[1;31mX\x1b[0m\x1b[2J");
	put(&T, "\x1b" "7Y");             /* two-byte sequence (ESC 7) */
	put(&T, "\x1b[12\nZ");            /* a control byte ends a sequence... */
	put(&T, "\x1b\x1b[KW");           /* ...and so does a second ESC */
	assert_screen(&T, (const char *[]){ "XY", "ZW" }, 2);
	free(f.px);
}

static void test_cursor_is_an_underline(void **state)
{
	(void)state;
	struct fakefb f = fake_fb(80, 32, 80, BOOT_FB_RGBX);
	assert_true(fbtext_init(&T, &f.fb, f.px));
	assert_true(cell_shows_glyph(&T, 0, 0, font8x16_glyph(' '), true));
	put(&T, "AB");
	assert_true(cell_shows(&T, 0, 0, 'A'));
	assert_true(cell_shows(&T, 1, 0, 'B'));
	assert_true(cell_shows_glyph(&T, 2, 0, font8x16_glyph(' '), true));
	put(&T, "\b");                    /* on top of a glyph */
	assert_true(cell_shows_glyph(&T, 1, 0, font8x16_glyph('B'), true));
	assert_true(cell_shows(&T, 2, 0, ' '));
	put(&T, "CDEFGHIJK");             /* wrap pending: stays on the last column */
	assert_true(cell_shows_glyph(&T, 9, 0, font8x16_glyph('K'), true));
	fbtext_set_cursor(&T, false);
	assert_true(cell_shows(&T, 9, 0, 'K'));
	free(f.px);
}

static void test_tiny_and_huge_screens(void **state)
{
	(void)state;
	/* One cell: every glyph after the first scrolls the previous away. */
	struct fakefb f = text_screen(8, 16, BOOT_FB_RGBX);
	put(&T, "AB\nC\tD\b");
	assert_screen(&T, (const char *[]){ "D" }, 1);
	free(f.px);

	/* Wider than FBTEXT_MAX_COLS cells: the grid is clipped, the rest of
	 * the screen stays blank. */
	f = text_screen(8 * (FBTEXT_MAX_COLS + 10), 16, BOOT_FB_RGBX);
	assert_int_equal(T.cols, FBTEXT_MAX_COLS);
	for (uint32_t i = 0; i < FBTEXT_MAX_COLS; i++)
		put(&T, "x");
	assert_true(cell_shows(&T, FBTEXT_MAX_COLS - 1, 0, 'x'));
	assert_true(cell_shows(&T, FBTEXT_MAX_COLS, 0, ' '));
	put(&T, "y");
	assert_true(cell_shows(&T, 0, 0, 'y'));
	assert_true(cell_shows(&T, 1, 0, ' '));
	free(f.px);
}

/* ---- fbcon_* (the kernel-facing wrapper, static state) ---- */

static void test_fbcon_init_and_write(void **state)
{
	(void)state;
	struct fakefb f = fake_fb(640, 480, 640, BOOT_FB_BGRX);

	fbcon_write("ignored", 7);        /* not initialised (or last init failed) */
	for (size_t i = 0; i < 640 * 480; i++)
		assert_int_equal(f.px[i], SENTINEL);

	assert_true(fbcon_init(&f.fb, f.px));
	fbcon_write("Hi\n", 3);
	/* Check through a second renderer given the same text. */
	struct fakefb g = fake_fb(640, 480, 640, BOOT_FB_BGRX);
	assert_true(fbtext_init(&T2, &g.fb, g.px));
	put(&T2, "Hi\n");
	assert_memory_equal(f.px, g.px, 640 * 480 * 4);

	/* A failed re-init disables the console. */
	struct boot_framebuffer bad = f.fb;
	bad.bpp = 16;
	assert_false(fbcon_init(&bad, f.px));
	fbcon_write("more", 4);
	assert_memory_equal(f.px, g.px, 640 * 480 * 4);
	free(f.px);
	free(g.px);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fbcon_init_and_write),
		cmocka_unit_test(test_font_glyphs_are_distinct_and_inked),
		cmocka_unit_test(test_init_clears_screen_and_keeps_pitch_padding),
		cmocka_unit_test(test_init_rejects_unusable_framebuffers),
		cmocka_unit_test(test_glyph_pixels_land_in_their_cell),
		cmocka_unit_test(test_rgbx_and_bgrx_channel_order),
		cmocka_unit_test(test_newline_and_carriage_return),
		cmocka_unit_test(test_backspace),
		cmocka_unit_test(test_tab_stops),
		cmocka_unit_test(test_long_lines_wrap),
		cmocka_unit_test(test_scrolling_moves_content_up),
		cmocka_unit_test(test_scrolled_screen_matches_fresh_render),
		cmocka_unit_test(test_unknown_bytes_draw_a_box),
		cmocka_unit_test(test_escape_sequences_are_swallowed),
		cmocka_unit_test(test_cursor_is_an_underline),
		cmocka_unit_test(test_tiny_and_huge_screens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Text rendering on a 32 bpp linear framebuffer (see fbtext.h).
 *
 * Invariant: with the cursor hidden, every cell (r, c) of the grid shows
 * font8x16_glyph(text[r][c]) in fg on bg.  Everything below relies on it:
 * drawing a character that a cell already shows is skipped, and scrolling
 * only repaints the cells whose character changes, so the framebuffer is
 * written but never read.  The cursor is drawn at the end of each
 * fbtext_write and removed at the start of the next one.
 */
#include <vigil/string.h>

#include "fbtext.h"

enum {
	ESC_NONE,
	ESC_SEEN, /* got ESC */
	ESC_CSI,  /* inside ESC [ ..., waiting for the final byte */
};

uint32_t fbtext_pixel(uint32_t format, uint32_t rgb)
{
	uint32_t r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;

	/* Pixels are stored little-endian: byte 0 is the low byte. */
	if (format == BOOT_FB_RGBX)
		return r | g << 8 | b << 16;
	return b | g << 8 | r << 16;
}

static uint32_t *scan_line(const struct fbtext *t, uint32_t y)
{
	return (uint32_t *)(t->pixels + (size_t)y * t->pitch);
}

static void draw_cell(struct fbtext *t, uint32_t row, uint32_t col, bool cursor)
{
	const uint8_t *glyph = font8x16_glyph(t->text[row][col]);
	uint32_t *px = scan_line(t, row * FBTEXT_CELL_H) + col * FBTEXT_CELL_W;
	uint32_t bg = t->bg, diff = t->fg ^ t->bg;

	for (uint32_t y = 0; y < FBTEXT_CELL_H; y++) {
		uint32_t bits = glyph[y];
		if (cursor && y >= FBTEXT_CELL_H - FBTEXT_CURSOR_LINES)
			bits = 0xff;
		/* Branch-free: the mask is all ones for ink, zero for paper. */
		for (uint32_t x = 0; x < FBTEXT_CELL_W; x++)
			px[x] = bg ^ (diff & -((bits >> (7 - x)) & 1));
		px = (uint32_t *)((uint8_t *)px + t->pitch);
	}
}

static void cursor_cell(struct fbtext *t, bool cursor)
{
	if (t->show_cursor)
		draw_cell(t, t->cy, MIN(t->cx, t->cols - 1), cursor);
}

static void repaint(struct fbtext *t)
{
	for (uint32_t r = 0; r < t->rows; r++)
		for (uint32_t c = 0; c < t->cols; c++)
			draw_cell(t, r, c, false);
}

/* Blank the whole framebuffer, including the margins right of and below the
 * grid that no cell covers. */
static void fill_screen(struct fbtext *t)
{
	for (uint32_t y = 0; y < t->height; y++) {
		uint32_t *px = scan_line(t, y);
		for (uint32_t x = 0; x < t->width; x++)
			px[x] = t->bg;
	}
}

static void reset_text(struct fbtext *t)
{
	memset(t->text, ' ', sizeof(t->text));
	memset(t->cont, 0, sizeof(t->cont));
	t->cx = 0;
	t->cy = 0;
	t->esc = ESC_NONE;
}

bool fbtext_init(struct fbtext *t, const struct boot_framebuffer *fb, void *pixels)
{
	if (!t || !fb || !pixels || ((uintptr_t)pixels & 3))
		return false;
	if (fb->bpp != 32 || (fb->format != BOOT_FB_RGBX && fb->format != BOOT_FB_BGRX))
		return false;
	if (fb->width < FBTEXT_CELL_W || fb->width > FBTEXT_MAX_WIDTH ||
	    fb->height < FBTEXT_CELL_H || fb->height > FBTEXT_MAX_HEIGHT)
		return false;
	if ((fb->pitch & 3) || fb->pitch / 4 < fb->width || fb->pitch > FBTEXT_MAX_PITCH)
		return false;

	t->pixels = pixels;
	t->width = fb->width;
	t->height = fb->height;
	t->pitch = fb->pitch;
	t->format = fb->format;
	t->cols = MIN(fb->width / FBTEXT_CELL_W, (uint32_t)FBTEXT_MAX_COLS);
	t->rows = MIN(fb->height / FBTEXT_CELL_H, (uint32_t)FBTEXT_MAX_ROWS);
	t->fg = fbtext_pixel(t->format, FBTEXT_DEFAULT_FG);
	t->bg = fbtext_pixel(t->format, FBTEXT_DEFAULT_BG);
	t->scroll_lines = 1;
	t->show_cursor = true;
	fbtext_clear(t);
	return true;
}

void fbtext_clear(struct fbtext *t)
{
	reset_text(t);
	fill_screen(t);
	cursor_cell(t, true);
}

void fbtext_set_colors(struct fbtext *t, uint32_t fg_rgb, uint32_t bg_rgb)
{
	t->fg = fbtext_pixel(t->format, fg_rgb);
	t->bg = fbtext_pixel(t->format, bg_rgb);
	fill_screen(t);
	repaint(t);
	cursor_cell(t, true);
}

void fbtext_set_cursor(struct fbtext *t, bool show)
{
	cursor_cell(t, false);
	t->show_cursor = show;
	cursor_cell(t, true);
}

void fbtext_set_scroll_lines(struct fbtext *t, uint32_t n)
{
	t->scroll_lines = n < 1 ? 1 : MIN(n, t->rows);
}

/* Move the grid up by n rows (1 <= n <= rows), blanking the bottom n.  Cells
 * are compared with what they will show and only the changed ones are drawn:
 * the space right of short lines, and blank rows, cost nothing.  Rows are
 * processed top-down, so row r + n is still unmodified when row r reads it. */
static void scroll_up(struct fbtext *t, uint32_t n)
{
	for (uint32_t r = 0; r < t->rows; r++) {
		bool from_below = r + n < t->rows;
		for (uint32_t c = 0; c < t->cols; c++) {
			uint8_t ch = from_below ? t->text[r + n][c] : ' ';
			if (t->text[r][c] != ch) {
				t->text[r][c] = ch;
				draw_cell(t, r, c, false);
			}
		}
		t->cont[r] = from_below && t->cont[r + n];
	}
}

/* Start a new line; wrapped: it continues the current one (auto-wrap). */
static void new_line(struct fbtext *t, bool wrapped)
{
	t->cx = 0;
	if (t->cy + 1 < t->rows) {
		t->cy++;
	} else {
		uint32_t n = t->scroll_lines;
		scroll_up(t, n);
		t->cy = t->rows - n;
	}
	t->cont[t->cy] = wrapped;
}

static void put_glyph(struct fbtext *t, uint8_t ch)
{
	if (t->cx >= t->cols)
		new_line(t, true);
	if (t->text[t->cy][t->cx] != ch) {
		t->text[t->cy][t->cx] = ch;
		draw_cell(t, t->cy, t->cx, false);
	}
	t->cx++;
}

static void back_space(struct fbtext *t)
{
	if (t->cx >= t->cols) {
		/* Wrap pending: the cursor sits on the last column's character. */
		t->cx = t->cols - 1;
	} else if (t->cx > 0) {
		t->cx--;
	} else if (t->cy > 0 && t->cont[t->cy]) {
		/* Back over an automatic line break, so that a line editor's
		 * "\b \b" can erase input that wrapped. */
		t->cy--;
		t->cx = t->cols - 1;
	}
}

static void tab(struct fbtext *t)
{
	if (t->cx >= t->cols)
		new_line(t, true);
	t->cx = MIN((t->cx + 8) & ~7u, t->cols);
}

/* ECMA-48 escape sequences: "ESC [ <0x20-0x3f>* <0x40-0x7e>" (CSI) or
 * "ESC <0x20-0x7e>".  The console implements none of them but must not draw
 * them.  A control byte ends a sequence and is then handled normally.
 * Returns true when c was consumed. */
static bool in_escape(struct fbtext *t, uint8_t c)
{
	switch (t->esc) {
	case ESC_SEEN:
		if (c == '[') {
			t->esc = ESC_CSI;
			return true;
		}
		t->esc = ESC_NONE;
		return c >= 0x20 && c <= 0x7e;
	case ESC_CSI:
		if (c >= 0x20 && c <= 0x3f)
			return true;
		t->esc = ESC_NONE;
		return c >= 0x40 && c <= 0x7e;
	default:
		return false;
	}
}

static void put_byte(struct fbtext *t, uint8_t c)
{
	if (in_escape(t, c))
		return;
	switch (c) {
	case '\n':
		new_line(t, false);
		break;
	case '\r':
		t->cx = 0;
		break;
	case '\b':
		back_space(t);
		break;
	case '\t':
		tab(t);
		break;
	case 0x1b:
		t->esc = ESC_SEEN;
		break;
	case '\0':
		break;
	default:
		put_glyph(t, c);
		break;
	}
}

void fbtext_write(struct fbtext *t, const char *s, size_t n)
{
	if (!n)
		return;
	cursor_cell(t, false);
	for (size_t i = 0; i < n; i++)
		put_byte(t, (uint8_t)s[i]);
	cursor_cell(t, true);
}

/*
 * Text rendering on a 32 bpp linear framebuffer: a grid of 8x16 cells drawn
 * with font8x16, one colour pair, a cursor, wrapping and scrolling.
 *
 * This is the part of the framebuffer console that does not care where the
 * pixels live: fbcon.c runs one instance on the boot framebuffer, the unit
 * test (tests/unit/test_fbcon.c) runs it on malloc'd memory.  It never
 * allocates and never reads the framebuffer back (reads from write-combining
 * or uncached video memory are very slow): the characters on screen are kept
 * in text[], and scrolling repaints from there, touching only the cells whose
 * character changes.
 *
 * Not thread-safe: callers serialise (the kernel's console lock does).
 */
#ifndef VIGIL_DRIVERS_FB_FBTEXT_H
#define VIGIL_DRIVERS_FB_FBTEXT_H

#include <vigil/boot_info.h>
#include <vigil/types.h>

#include "font8x16.h"

#define FBTEXT_CELL_W FONT8X16_WIDTH
#define FBTEXT_CELL_H FONT8X16_HEIGHT

/* Framebuffers outside these limits are rejected as implausible. */
#define FBTEXT_MAX_WIDTH  16384 /* pixels */
#define FBTEXT_MAX_HEIGHT 16384
#define FBTEXT_MAX_PITCH  (4 * 32768) /* bytes */

/* The text grid is clipped to this many cells (4096x4096 pixels); a larger
 * screen shows text in its top-left part only.  Bounded so the state can be
 * static: the console runs before any allocator exists. */
#define FBTEXT_MAX_COLS 512
#define FBTEXT_MAX_ROWS 256

/* Light grey on black (0xRRGGBB). */
#define FBTEXT_DEFAULT_FG 0xc0c0c0u
#define FBTEXT_DEFAULT_BG 0x000000u

/* The cursor is an underline over the last scan lines of its cell. */
#define FBTEXT_CURSOR_LINES 2

struct fbtext {
	uint8_t *pixels;        /* top-left pixel */
	uint32_t width, height; /* pixels */
	uint32_t pitch;         /* bytes per scan line */
	uint32_t format;        /* enum boot_fb_format */
	uint32_t cols, rows;    /* text grid */
	uint32_t cx, cy;        /* cursor cell; cx == cols: wrap pending */
	uint32_t fg, bg;        /* pixel values, already in the framebuffer's byte order */
	uint32_t scroll_lines;  /* rows to scroll at once when output reaches the bottom */
	bool show_cursor;
	uint8_t esc;            /* escape-sequence parser state */
	bool cont[FBTEXT_MAX_ROWS]; /* row continues the row above it (it was wrapped into) */
	uint8_t text[FBTEXT_MAX_ROWS][FBTEXT_MAX_COLS]; /* what each cell shows */
};

/*
 * Check fb (32 bpp, BOOT_FB_RGBX or BOOT_FB_BGRX, plausible width, height and
 * pitch) and take it over: pixels is where it is mapped.  Clears the screen
 * to the background colour, puts the cursor top-left (shown), scrolls one row
 * at a time.  Returns false, leaving *t untouched, when fb is unusable.
 */
bool fbtext_init(struct fbtext *t, const struct boot_framebuffer *fb, void *pixels);

/* 0xRRGGBB as a pixel value in the given format (RGBX: byte 0 is red). */
uint32_t fbtext_pixel(uint32_t format, uint32_t rgb);

/* Change the colour pair (0xRRGGBB) and repaint the whole screen with it. */
void fbtext_set_colors(struct fbtext *t, uint32_t fg_rgb, uint32_t bg_rgb);
void fbtext_set_cursor(struct fbtext *t, bool show);
/* Scrolling several rows at once makes heavy output cheaper (one repaint per
 * n lines) at the price of a jumpier screen.  Clamped to 1..rows. */
void fbtext_set_scroll_lines(struct fbtext *t, uint32_t n);

/* Blank the screen and home the cursor. */
void fbtext_clear(struct fbtext *t);

/*
 * Draw n bytes at the cursor.  Printable ASCII is drawn with font8x16;
 * '\n' starts a new line, '\r' returns to column 0, '\b' moves back one cell
 * (across a wrapped line break too), '\t' advances to the next multiple of 8.
 * Text wraps at the right edge and the screen scrolls at the bottom.  ECMA-48
 * escape sequences (ESC [ ... final, ESC x) are swallowed without effect so
 * they do not show up as garbage; NUL is ignored; every other byte is drawn
 * as a box.
 */
void fbtext_write(struct fbtext *t, const char *s, size_t n);

#endif

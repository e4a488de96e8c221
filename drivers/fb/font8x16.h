/* vigil's 8x16 bitmap console font (font8x16.c). */
#ifndef VIGIL_DRIVERS_FB_FONT8X16_H
#define VIGIL_DRIVERS_FB_FONT8X16_H

#include <vigil/types.h>

#define FONT8X16_WIDTH  8
#define FONT8X16_HEIGHT 16
#define FONT8X16_FIRST  0x20 /* ' ' */
#define FONT8X16_LAST   0x7e /* '~' */
#define FONT8X16_COUNT  (FONT8X16_LAST - FONT8X16_FIRST + 1)

/* font8x16[c - FONT8X16_FIRST][line]: one byte per scan line, top line
 * first, bit 7 = leftmost pixel. */
extern const uint8_t font8x16[FONT8X16_COUNT][FONT8X16_HEIGHT];
/* The glyph for bytes outside FONT8X16_FIRST..FONT8X16_LAST. */
extern const uint8_t font8x16_box[FONT8X16_HEIGHT];

static inline const uint8_t *font8x16_glyph(uint8_t c)
{
	if (c >= FONT8X16_FIRST && c <= FONT8X16_LAST)
		return font8x16[c - FONT8X16_FIRST];
	return font8x16_box;
}

#endif

/*
 * The framebuffer text console: the boot framebuffer (struct boot_framebuffer
 * from the loader) driven by fbtext.  All state is static so the console
 * works from the first printk, before any allocator exists.  Serialisation is
 * the caller's: fbcon_write is reached through arch_console_write under the
 * console lock (core/printk.c).
 */
#include <vigil/fbcon.h>

#include "fbtext.h"

static struct fbtext con;
static bool con_ready;

bool fbcon_init(const struct boot_framebuffer *fb, void *fb_virt)
{
	con_ready = false;
	if (!fb || fb->base == 0 || !fbtext_init(&con, fb, fb_virt))
		return false;
	/* A scroll repaints every cell whose character changes, which on a
	 * 1080p screen costs about as much as drawing a few thousand glyphs.
	 * Scrolling 1/16 of the screen at a time (4 rows at 1080p, 2 at
	 * 800x600) spreads that over several lines of output. */
	fbtext_set_scroll_lines(&con, con.rows / 16);
	con_ready = true;
	return true;
}

void fbcon_write(const char *s, size_t n)
{
	if (con_ready)
		fbtext_write(&con, s, n);
}

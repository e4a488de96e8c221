/* Framebuffer text console (drivers/fb).  fbcon_write is a no-op until
 * fbcon_init found a usable framebuffer. */
#ifndef VIGIL_FBCON_H
#define VIGIL_FBCON_H
#include <vigil/boot_info.h>
#include <vigil/types.h>
/* fb_virt: the framebuffer mapped (write-combining or uncached) by the caller. */
bool fbcon_init(const struct boot_framebuffer *fb, void *fb_virt);
void fbcon_write(const char *s, size_t n);
#endif

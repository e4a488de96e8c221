/*
 * console= boot parameter: which devices carry the console.
 *
 *     console=serial              16550 at I/O port 0x3f8 (COM1)
 *     console=serial,0x2f8        16550 at another I/O port
 *     console=serial,mmio,<addr>  memory-mapped 16550 (PCIe serial cards and
 *                                 lab machines without legacy ports)
 *     console=fb                  framebuffer only
 *     console=serial+fb           both (the default when nothing is given)
 *
 * Without console=, the UART the ACPI SPCR table names is used when it
 * answers (arch/x86/serial_console.c).
 *
 * Devices are joined with '+'.  The value is parsed as a whole into a copy,
 * so a bad part leaves the previous setting untouched.
 */
#include <vigil/cmdline.h>
#include <vigil/string.h>

#define CONSOLE_EXPECT "serial[,<port>|,mmio,<addr>]|fb, joined with +"

/* One device: s..end (not NUL-terminated). */
static int parse_device(const char *s, size_t len, struct boot_console *c)
{
	char dev[64];
	uint64_t v;

	if (len == 0 || len >= sizeof(dev))
		return -1;
	memcpy(dev, s, len);
	dev[len] = '\0';

	if (!strcmp(dev, "fb")) {
		c->devices |= BOOT_CONSOLE_FB;
		return 0;
	}
	if (!strcmp(dev, "serial")) {
		c->devices |= BOOT_CONSOLE_SERIAL;
		c->serial_kind = BOOT_SERIAL_IO;
		c->serial_base = BOOT_SERIAL_DEFAULT_PORT;
		return 0;
	}
	if (!strncmp(dev, "serial,mmio,", 12)) {
		if (kstrtou64(dev + 12, 0, &v) || v == 0)
			return -1;
		c->devices |= BOOT_CONSOLE_SERIAL;
		c->serial_kind = BOOT_SERIAL_MMIO;
		c->serial_base = v;
		return 0;
	}
	if (!strncmp(dev, "serial,", 7)) {
		/* An I/O port: 16 bits, and the 8 registers must fit below 64K. */
		if (kstrtou64(dev + 7, 0, &v) || v == 0 || v > 0xfff8)
			return -1;
		c->devices |= BOOT_CONSOLE_SERIAL;
		c->serial_kind = BOOT_SERIAL_IO;
		c->serial_base = v;
		return 0;
	}
	return -1;
}

static int parse_console(const char *value, void *field)
{
	struct boot_console c = { .serial_kind = BOOT_SERIAL_IO,
				  .serial_base = BOOT_SERIAL_DEFAULT_PORT };
	const char *s = value;

	for (;;) {
		const char *plus = strchr(s, '+');
		size_t len = plus ? (size_t)(plus - s) : strlen(s);

		if (parse_device(s, len, &c))
			return -1;
		if (!plus)
			break;
		s = plus + 1;
	}
	c.from_cmdline = 1;
	*(struct boot_console *)field = c;
	return 0;
}
BOOT_PARAM_CUSTOM(console, CONSOLE_EXPECT, parse_console);

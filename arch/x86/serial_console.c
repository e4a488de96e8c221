/*
 * Which UART is the console, decided in three steps of the boot
 * (setup.c), each probing before it switches (drivers/uart):
 *
 *   early  (before paging)   the I/O-port UART console= names (COM1 by default)
 *   late   (after paging)    a memory-mapped one, once its address passed
 *                            serial_mmio_check (memory map, physical width)
 *   SPCR   (after ACPI)      the UART the firmware's SPCR table names, when
 *                            the command line has no console=
 *
 * When the named UART cannot be used (bad address, nothing answers), the
 * console falls back to the default, COM1, and says why on every console
 * that works: the serial line now, the framebuffer once it is up.
 */
#include <asm/cpu.h>
#include <asm/paging.h>
#include <asm/setup.h>
#include <vigil/cmdline.h>
#include <vigil/fbcon.h>
#include <vigil/printk.h>
#include <vigil/serial_console.h>
#include <vigil/string.h>
#include <vigil/uart.h>

static struct serial_port_desc current;   /* the console UART, kind/base */
static char fallback_note[200];            /* why the default is used, for the framebuffer */

static unsigned phys_addr_bits(void)
{
	/* CPUID 0x80000008 EAX[7:0] (SDM vol 2A, CPUID); 36 without the leaf. */
	if (boot_cpu.max_ext_leaf >= 0x80000008)
		return cpuid(0x80000008).eax & 0xFF;
	return 36;
}

static bool try_port(const struct serial_port_desc *d, const struct boot_info *bi, char *why, size_t len)
{
	if (d->kind == BOOT_SERIAL_IO) {
		if (uart_init((uint16_t)d->base))
			return true;
		snprintf(why, len, "no UART answers there");
		return false;
	}
	if (!bi) {
		snprintf(why, len, "MMIO needs the kernel's page tables");
		return false;
	}
	if (serial_mmio_check(d->base, d->stride, bi, phys_addr_bits(), why, len))
		return false;
	void *regs = ioremap(d->base, (size_t)SERIAL_NR_REGS * d->stride);
	if (uart_init_mmio(regs, d->stride))
		return true;
	snprintf(why, len, "no UART answers there");
	return false;
}

static void fall_back(const struct serial_port_desc *want, const char *source, const char *why)
{
	static const struct serial_port_desc com1 = { .kind = BOOT_SERIAL_IO,
						      .base = BOOT_SERIAL_DEFAULT_PORT, .stride = 1 };
	char name[48];
	bool ok = uart_init(BOOT_SERIAL_DEFAULT_PORT);

	serial_port_name(want, name, sizeof(name));
	snprintf(fallback_note, sizeof(fallback_note), "console: %s (%s): %s; %s\n", name, source, why,
		 ok ? "using the default, COM1 (I/O port 0x3f8)" : "COM1 does not answer either");
	if (ok)
		current = com1;
	printk("%s", fallback_note);
}

static struct serial_port_desc from_cmdline(void)
{
	const struct boot_console *c = &boot_params()->console;
	return (struct serial_port_desc){ .kind = c->serial_kind, .base = c->serial_base, .stride = 4 };
}

void serial_console_early(void)
{
	const struct boot_console *c = &boot_params()->console;
	if (!(c->devices & BOOT_CONSOLE_SERIAL) || c->serial_kind != BOOT_SERIAL_IO)
		return;
	struct serial_port_desc want = from_cmdline();
	char why[120];
	if (try_port(&want, NULL, why, sizeof(why)))
		current = want;
	else
		fall_back(&want, c->from_cmdline ? "console=" : "default", why);
}

void serial_console_late(const struct boot_info *bi)
{
	const struct boot_console *c = &boot_params()->console;
	if (!(c->devices & BOOT_CONSOLE_SERIAL) || c->serial_kind != BOOT_SERIAL_MMIO)
		return;
	struct serial_port_desc want = from_cmdline();
	char why[120];
	if (try_port(&want, bi, why, sizeof(why))) {
		current = want;
		return;
	}
	fall_back(&want, "console=", why);
}

void serial_console_spcr(const struct boot_info *bi, const struct acpi_info *ai)
{
	const struct boot_console *c = &boot_params()->console;
	struct serial_port_desc want;
	char why[120], name[48], was[48];

	if (!ai->has_spcr)
		return;
	if (serial_from_spcr(ai, &want, why, sizeof(why))) {
		printk("console: the SPCR table's UART is not usable: %s; keeping the console as it is\n", why);
		return;
	}
	serial_port_name(&want, name, sizeof(name));
	if (c->from_cmdline) {
		printk("console: the SPCR table names %s; console= on the command line takes precedence\n", name);
		return;
	}
	if (uart_active() && want.kind == current.kind && want.base == current.base) {
		printk("console: %s, as the SPCR table says\n", name);
		return;
	}
	serial_port_name(&current, was, sizeof(was));
	/* Probing touches only the candidate; the console stays where it is
	 * until the new UART has answered. */
	if (want.kind == BOOT_SERIAL_IO ? !uart_probe((uint16_t)want.base) : false) {
		printk("console: the SPCR table names %s, but no UART answers there; keeping %s\n", name,
		       uart_active() ? was : "no serial console");
		return;
	}
	if (want.kind == BOOT_SERIAL_MMIO &&
	    serial_mmio_check(want.base, want.stride, bi, phys_addr_bits(), why, sizeof(why))) {
		printk("console: the SPCR table names %s: %s; keeping %s\n", name, why,
		       uart_active() ? was : "no serial console");
		return;
	}
	printk("console: moving to %s, the SPCR table's console (console= overrides)\n", name);
	bool had = uart_active();
	if (!try_port(&want, bi, why, sizeof(why))) {
		printk("console: the SPCR table names %s: %s; keeping %s\n", name, why,
		       had ? was : "no serial console");
		return;
	}
	current = want;
	/* The SPCR's "configured baud rate" (0: as the firmware left it,
	 * which vigil cannot know after programming the UART: 115200). */
	uint32_t baud = 115200;
	if (ai->spcr_baud && ai->spcr_baud != baud && uart_set_baud(ai->spcr_baud))
		baud = ai->spcr_baud;
	printk("console: %s from the SPCR table, %u baud (was %s)\n", name, baud, had ? was : "none");
}

void serial_console_report_fb(void)
{
	if (fallback_note[0])
		fbcon_write(fallback_note, strlen(fallback_note));
}

/*
 * The serial console across ACPI S3: its device suspend/resume callbacks
 * (include/vigil/dev_pm.h), thin wrappers around the UART driver.  The
 * sleep resets the UART (QEMU: LCR 0, divisor 12, FIFOs off, IER 0), so
 * after wake it is programmed again exactly as at boot.  Before sleeping, the transmitter is
 * left to empty (LSR.TEMT, bit 6; PC16550D datasheet, "Line Status
 * Register"), otherwise the last bytes written before the sleep, still in
 * the FIFO, die with the reset.
 */
#include <asm/io.h>
#include <asm/s3.h>
#include <vigil/cmdline.h>
#include <vigil/dev_pm.h>
#include <vigil/uart.h>

#define UART_LSR       5
#define UART_LSR_TEMT  0x40

static void x86_serial_console_drain(void)
{
	const struct boot_console *con = &boot_params()->console;
	if (!(con->devices & BOOT_CONSOLE_SERIAL))
		return;
	/* 16 bytes at 115200 baud take 1.4 ms; give it ample time. */
	for (int i = 0; i < 100000; i++) {
		uint8_t lsr;
		if (con->serial_kind == BOOT_SERIAL_IO)
			lsr = inb((uint16_t)(con->serial_base + UART_LSR));
		else if (x86_serial_mmio_regs)
			lsr = (uint8_t)((volatile uint32_t *)x86_serial_mmio_regs)[UART_LSR];
		else
			return;
		if (lsr == 0xFF || (lsr & UART_LSR_TEMT)) /* no UART there, or empty */
			return;
		io_delay();
	}
}

static void x86_serial_console_resume(void)
{
	const struct boot_console *con = &boot_params()->console;
	if (!(con->devices & BOOT_CONSOLE_SERIAL))
		return;
	if (con->serial_kind == BOOT_SERIAL_IO)
		uart_init((uint16_t)con->serial_base);
	else if (x86_serial_mmio_regs)
		uart_init_mmio(x86_serial_mmio_regs);
}

static struct dev_pm_ops serial_console_pm = { .name = "serial-console", .suspend = x86_serial_console_drain,
					       .resume = x86_serial_console_resume };

void x86_serial_console_register_pm(void)
{
	dev_pm_register(&serial_console_pm);
}

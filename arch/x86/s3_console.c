/*
 * The serial console across ACPI S3: its device suspend/resume callbacks
 * (include/vigil/dev_pm.h), thin wrappers around the UART driver.  The
 * sleep resets the UART (QEMU: LCR 0, divisor 12, FIFOs off, IER 0), so
 * after wake it is programmed again exactly as at boot.  Before sleeping, the transmitter is
 * left to empty (LSR.TEMT, bit 6; PC16550D datasheet, "Line Status
 * Register"), otherwise the last bytes written before the sleep, still in
 * the FIFO, die with the reset.  The driver knows which UART is the console
 * (console=, the SPCR table, or the fallback to COM1).
 */
#include <asm/s3.h>
#include <vigil/dev_pm.h>
#include <vigil/uart.h>

static void x86_serial_console_drain(void)
{
	uart_drain();
}

static void x86_serial_console_resume(void)
{
	uart_resume();
}

static struct dev_pm_ops serial_console_pm = { .name = "serial-console", .suspend = x86_serial_console_drain,
					       .resume = x86_serial_console_resume };

void x86_serial_console_register_pm(void)
{
	dev_pm_register(&serial_console_pm);
}

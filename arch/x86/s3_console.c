/*
 * The serial console across ACPI S3 (s3.c).  The sleep resets the UART
 * (QEMU: LCR 0, divisor 12, FIFOs off, IER 0), so after wake it is
 * programmed again exactly as at boot.  Before sleeping, the transmitter is
 * left to empty (LSR.TEMT, bit 6; PC16550D datasheet, "Line Status
 * Register"), otherwise the last bytes written before the sleep, still in
 * the FIFO, die with the reset.  The driver knows which UART is the console
 * (console=, the SPCR table, or the fallback to COM1).
 */
#include <asm/s3.h>
#include <vigil/uart.h>

void x86_serial_console_drain(void)
{
	uart_drain();
}

void x86_serial_console_resume(void)
{
	uart_resume();
}

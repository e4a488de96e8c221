/*
 * 16550 UART on I/O ports (the PC's COM1 at 0x3F8 by default): 115200 8N1,
 * polled.  The console protocol uses "\n" line ends; the terminal wants
 * CRLF, so output translates LF to CR LF here and nowhere else.
 */
#include <asm/io.h>
#include <vigil/arch.h>
#include <vigil/uart.h>

#define UART_THR 0  /* transmit holding (DLAB=0) */
#define UART_RBR 0  /* receive buffer (DLAB=0) */
#define UART_DLL 0  /* divisor low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

static uint16_t uart_port;
static volatile uint32_t *uart_mmio; /* MMIO 16550: registers 4 bytes apart */
static bool uart_present;

static uint8_t reg_read(unsigned reg)
{
	if (uart_mmio)
		return (uint8_t)uart_mmio[reg];
	return inb(uart_port + reg);
}

static void reg_write(unsigned reg, uint8_t v)
{
	if (uart_mmio)
		uart_mmio[reg] = v;
	else
		outb(uart_port + reg, v);
}

static bool uart_setup(void)
{
	/* The scratch register round-trip tells whether a UART answers at all
	 * (absent ports read back 0xFF). */
	reg_write(UART_SCR, 0x5A);
	if (reg_read(UART_SCR) != 0x5A)
		return false;
	reg_write(UART_IER, 0x00);      /* no interrupts: the console polls */
	reg_write(UART_LCR, 0x80);      /* DLAB */
	reg_write(UART_DLL, 1);         /* 115200 = 1.8432 MHz / 16 / 1 */
	reg_write(UART_DLM, 0);
	reg_write(UART_LCR, 0x03);      /* 8N1 */
	reg_write(UART_FCR, 0x07);      /* FIFOs on and cleared */
	reg_write(UART_MCR, 0x03);      /* DTR, RTS */
	uart_present = true;
	return true;
}

bool uart_init_mmio(void *regs)
{
	uart_mmio = regs;
	uart_present = false;
	return uart_setup();
}

bool uart_init(uint16_t port)
{
	uart_port = port;
	uart_mmio = NULL;
	uart_present = false;
	return uart_setup();
}

/*
 * How long one character may wait for room in the transmitter.  A real
 * 16550 at 115200 baud has it within 87 us; an emulated one waits for its
 * host side, which a loaded host can hold up for a good part of a second (a
 * bound of a million status reads, about 0.1 s under TCG, once dropped
 * characters from a panic report that way).  After a character timed out
 * the UART counts as stalled, and later ones wait only briefly until it
 * moves again: a stuck UART costs one timeout, not one per character, and
 * never hangs the kernel.
 */
#define THR_WAIT_NS      1000000000ULL
#define THR_STALLED_NS   1000000ULL
#define THR_WAIT_SPINS   1000000u     /* before the clock is calibrated */
static bool uart_stalled;

static bool thr_wait(void)
{
	uint64_t limit = uart_stalled ? THR_STALLED_NS : THR_WAIT_NS;
	uint64_t start = arch_time_ns();
	for (unsigned spins = 0; !(reg_read(UART_LSR) & LSR_THR_EMPTY); spins++)
		if (start ? arch_time_ns() - start > limit : spins > THR_WAIT_SPINS) {
			uart_stalled = true;
			return false;
		}
	uart_stalled = false;
	return true;
}

static void uart_putc_raw(char c)
{
	if (thr_wait())
		reg_write(UART_THR, (uint8_t)c);
}

void uart_write(const char *s, size_t n)
{
	if (!uart_present)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc_raw('\r');
		uart_putc_raw(s[i]);
	}
}

int uart_getc(void)
{
	if (!uart_present || !(reg_read(UART_LSR) & LSR_DATA_READY))
		return -1;
	return reg_read(UART_RBR);
}

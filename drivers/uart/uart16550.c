/*
 * 16550 UART on I/O ports (the PC's COM1 at 0x3F8 by default): 115200 8N1,
 * polled.  The console protocol uses "\n" line ends; the terminal wants
 * CRLF, so output translates LF to CR LF here and nowhere else.
 */
#include <asm/io.h>
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

static void uart_putc_raw(char c)
{
	for (unsigned spins = 0; !(reg_read(UART_LSR) & LSR_THR_EMPTY); spins++)
		if (spins > 1000000)
			return; /* a stuck UART must not hang the kernel */
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

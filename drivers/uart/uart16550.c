/*
 * 16550 UART (PC16550D datasheet; the PC's COM1 at I/O port 0x3F8 by
 * default, or memory-mapped): 115200 8N1, polled.  The console protocol uses
 * "\n" line ends; the terminal wants CRLF, so output translates LF to CR LF
 * here and nowhere else.
 *
 * One UART is the console at a time.  uart_init*() first probes the new one
 * (uart_probe*) and switches only when it answers, so a console= or SPCR
 * address with nothing behind it never leaves the machine without output.
 */
#include <asm/io.h>
#include <vigil/arch.h>
#include <vigil/string.h>
#include <vigil/uart.h>

#define UART_THR 0  /* transmit holding (DLAB=0) */
#define UART_RBR 0  /* receive buffer (DLAB=0) */
#define UART_DLL 0  /* divisor low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2  /* read */
#define UART_FCR 2  /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define LSR_DATA_READY 0x01
#define LSR_OVERRUN    0x02
#define LSR_THR_EMPTY  0x20
#define LSR_TEMT       0x40
#define MCR_LOOP       0x10
#define MCR_RTS_OUT2   0x0A
#define MSR_CTS_DCD    0x90
/* FIFOs on, both cleared, receive trigger at 14 bytes (FCR bits 7:6 = 11). */
#define FCR_FIFO_14    0xC7
#define IIR_FIFO_ON    0xC0
#define FIFO_DEPTH     16

struct uart {
	uint16_t port;
	volatile uint8_t *mmio;   /* NULL: I/O ports */
	unsigned stride;          /* MMIO: bytes between registers (1 or 4) */
	bool present;
	unsigned tx_burst;        /* bytes per wait for THR empty: 16 with FIFOs */
	uint16_t divisor;         /* of the 1.8432 MHz / 16 clock: 1 = 115200 baud */
};

static struct uart con;       /* the console */

static uint8_t reg_read(const struct uart *u, unsigned reg)
{
	if (u->mmio) {
		if (u->stride == 4)
			return (uint8_t)*(volatile uint32_t *)(u->mmio + reg * 4);
		return u->mmio[reg];
	}
	return inb((uint16_t)(u->port + reg));
}

static void reg_write(const struct uart *u, unsigned reg, uint8_t v)
{
	if (u->mmio) {
		if (u->stride == 4)
			*(volatile uint32_t *)(u->mmio + reg * 4) = v;
		else
			u->mmio[reg] = v;
	} else {
		outb((uint16_t)(u->port + reg), v);
	}
}

/*
 * Does a 16550 answer here?  The scratch register must keep two patterns
 * (absent I/O ports and unclaimed MMIO read back 0xFF or 0), and in loopback
 * mode (MCR bit 4) the modem status inputs must follow the outputs: RTS
 * shows as CTS and OUT2 as DCD (PC16550D, "Modem Control Register").  That
 * second test tells a UART from plain RAM or another device's register.
 * The modem control register is restored afterwards.
 */
static bool probe(const struct uart *u)
{
	reg_write(u, UART_SCR, 0x5A);
	if (reg_read(u, UART_SCR) != 0x5A)
		return false;
	reg_write(u, UART_SCR, 0xA5);
	if (reg_read(u, UART_SCR) != 0xA5)
		return false;
	uint8_t mcr = reg_read(u, UART_MCR);
	reg_write(u, UART_MCR, MCR_LOOP);
	uint8_t off = reg_read(u, UART_MSR) & 0xF0;
	reg_write(u, UART_MCR, MCR_LOOP | MCR_RTS_OUT2);
	uint8_t on = reg_read(u, UART_MSR) & 0xF0;
	reg_write(u, UART_MCR, mcr & ~MCR_LOOP);
	return off == 0 && on == MSR_CTS_DCD;
}

static void program(struct uart *u)
{
	reg_write(u, UART_IER, 0x00);      /* no interrupts: the console polls */
	reg_write(u, UART_LCR, 0x80);      /* DLAB */
	if (!u->divisor)
		u->divisor = 1;            /* 115200 = 1.8432 MHz / 16 / 1 */
	reg_write(u, UART_DLL, (uint8_t)u->divisor);
	reg_write(u, UART_DLM, (uint8_t)(u->divisor >> 8));
	reg_write(u, UART_LCR, 0x03);      /* 8N1 */
	reg_write(u, UART_FCR, FCR_FIFO_14);
	reg_write(u, UART_MCR, 0x03);      /* DTR, RTS */
	/* A 16450 has no FIFO: IIR bits 7:6 stay 0 (PC16550D, "FIFO Control"). */
	u->tx_burst = (reg_read(u, UART_IIR) & IIR_FIFO_ON) == IIR_FIFO_ON ? FIFO_DEPTH : 1;
	u->present = true;
}

static bool use(const struct uart *u)
{
	struct uart n = *u;
	if (!probe(&n))
		return false;
	program(&n);
	con = n;
	return true;
}

bool uart_probe(uint16_t port)
{
	struct uart u = { .port = port };
	return probe(&u);
}

bool uart_probe_mmio(void *regs, unsigned stride)
{
	struct uart u = { .mmio = regs, .stride = stride };
	return probe(&u);
}

bool uart_init(uint16_t port)
{
	struct uart u = { .port = port };
	return use(&u);
}

bool uart_init_mmio(void *regs, unsigned stride)
{
	struct uart u = { .mmio = regs, .stride = stride == 1 ? 1 : 4 };
	return use(&u);
}

bool uart_active(void)
{
	return con.present;
}

#define DRAIN_SPINS 1000000u
bool uart_set_baud(uint32_t baud)
{
	if (!con.present || !baud || baud > 115200 || 115200 % baud)
		return false;
	con.divisor = (uint16_t)(115200 / baud);
	uart_drain();
	program(&con);
	return true;
}

void uart_resume(void)
{
	if (con.present)
		program(&con);
}

/* Before a sleep: let the transmitter empty (LSR.TEMT), or the last bytes
 * die with the UART's reset.  16 bytes at 115200 baud take 1.4 ms. */
void uart_drain(void)
{
	if (!con.present)
		return;
	uint64_t start = arch_time_ns();
	/* 100 ms, or a bound on reads while the clock is not calibrated. */
	for (unsigned spins = 0; !(reg_read(&con, UART_LSR) & LSR_TEMT); spins++) {
		if (start ? arch_time_ns() - start > 100000000ULL : spins > DRAIN_SPINS)
			break;
		arch_cpu_relax();
	}
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
	for (unsigned spins = 0; !(reg_read(&con, UART_LSR) & LSR_THR_EMPTY); spins++)
		if (start ? arch_time_ns() - start > limit : spins > THR_WAIT_SPINS) {
			uart_stalled = true;
			return false;
		}
	uart_stalled = false;
	return true;
}

/* THR empty means the whole transmit FIFO is: it takes tx_burst bytes.
 * The count lives in one call: a CPU stopped in the middle of a write (a
 * panic) must not leave its successor believing there is room. */
static void uart_putc_raw(char c, unsigned *room)
{
	if (!*room) {
		if (!thr_wait())
			return;
		*room = con.tx_burst;
	}
	reg_write(&con, UART_THR, (uint8_t)c);
	(*room)--;
}

void uart_write(const char *s, size_t n)
{
	unsigned room = 0;

	if (!con.present)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc_raw('\r', &room);
		uart_putc_raw(s[i], &room);
	}
}

/* For the type-ahead self-test: in loopback mode (MCR bit 4) every byte
 * sent arrives in the receive FIFO, with a real FIFO's overrun. */
void uart_loopback(bool on)
{
	if (con.present)
		reg_write(&con, UART_MCR, on ? (MCR_LOOP | 0x03) : 0x03);
}

bool uart_send_byte(uint8_t c)
{
	if (!con.present || !thr_wait())
		return false;
	reg_write(&con, UART_THR, c);
	return true;
}

static uint64_t overruns;

int uart_getc(void)
{
	if (!con.present)
		return -1;
	uint8_t lsr = reg_read(&con, UART_LSR);
	if (lsr & LSR_OVERRUN)
		__atomic_add_fetch(&overruns, 1, __ATOMIC_RELAXED);
	if (!(lsr & LSR_DATA_READY))
		return -1;
	return reg_read(&con, UART_RBR);
}

uint64_t uart_overruns(void)
{
	return __atomic_load_n(&overruns, __ATOMIC_RELAXED);
}


/* The serial console device (drivers/uart): one 16550 at a time. */
#ifndef VIGIL_UART_H
#define VIGIL_UART_H
#include <vigil/types.h>
/* Does a 16550 answer at this port / these registers (scratch register and
 * loopback test)?  Changes nothing else. */
bool uart_probe(uint16_t port);
bool uart_probe_mmio(void *regs, unsigned stride);
/* Probe, then program (115200 8N1, FIFOs) and make it the console.  False,
 * and the console stays where it was, when nothing answers. */
bool uart_init(uint16_t port);
bool uart_init_mmio(void *regs, unsigned stride); /* stride 1 or 4 bytes */
bool uart_active(void);
/* Run the console UART at baud (115200 divided by a whole number); false,
 * and nothing changed, otherwise.  Every UART starts at 115200. */
bool uart_set_baud(uint32_t baud);
void uart_resume(void);  /* program the console UART again (after S3) */
void uart_drain(void);   /* wait until it has sent everything */
void uart_write(const char *s, size_t n);
int uart_getc(void);
uint64_t uart_overruns(void); /* receive overruns seen (LSR bit 1) */
/* Self-test aids: loopback mode on/off, one raw byte out (waits for room). */
void uart_loopback(bool on);
bool uart_send_byte(uint8_t c);
#endif

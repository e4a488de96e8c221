/* The serial console device (drivers/uart). */
#ifndef VIGIL_UART_H
#define VIGIL_UART_H
#include <vigil/types.h>
bool uart_init(uint16_t port);
bool uart_init_mmio(void *regs);
void uart_write(const char *s, size_t n);
int uart_getc(void);
#endif

/*
 * Console input: bytes from the serial port are taken off the UART by a fast
 * poll (the boot CPU's 1 kHz timer tick, and the shell whenever it looks for
 * input) into a ring buffer, so that type-ahead typed while a command runs
 * is kept (a 16550 holds only 16 bytes) and Ctrl-C reaches a running command.
 *
 * Ctrl-C (0x03) typed after the Enter that started a command interrupts it:
 * long commands poll console_interrupted() and stop with
 * "error: interrupted (Ctrl-C) ...".  A Ctrl-C that interrupted a command is
 * consumed, together with whatever was typed between that Enter and it; one
 * that no command noticed reaches the line editor like any other byte (it
 * abandons the line being typed).  docs/console.md, "Input while a command runs".
 */
#ifndef VIGIL_CONSOLE_INPUT_H
#define VIGIL_CONSOLE_INPUT_H

#include <vigil/types.h>

#define CONSOLE_CTRL_C 0x03

/* ---- the ring: one producer, one consumer, byte positions counted from 0 ---- */

#define INPUT_RING_SIZE 4096 /* a power of two */

struct input_ring {
	uint64_t head;   /* bytes ever pushed (written by the producer) */
	uint64_t tail;   /* bytes ever popped or discarded (written by the consumer) */
	uint8_t buf[INPUT_RING_SIZE];
};

void input_ring_init(struct input_ring *r);
/* Append a byte; false (and nothing stored) when the ring is full. */
bool input_ring_push(struct input_ring *r, uint8_t byte);
/* Take the oldest byte, or -1 when empty. */
int input_ring_pop(struct input_ring *r);
size_t input_ring_count(const struct input_ring *r);
/* Consumer: drop every byte at a position below pos (no-op for old pos). */
void input_ring_discard_to(struct input_ring *r, uint64_t pos);

/* ---- the console's input (core/console/console_input.c) ---- */

/* Move every byte the UART holds into the ring (bytes that find the ring
 * full are dropped and counted, but a Ctrl-C among them is still seen).
 * Safe from any CPU and from interrupt context: a caller that finds another
 * one polling returns at once. */
void console_input_poll(void);
/* The next input byte, or -1: polls first. */
int console_getc(void);

/* The shell calls begin after taking a byte that may start a command and
 * end after the byte was handled.  end() consumes a Ctrl-C that interrupted
 * the command, with the type-ahead before it. */
void console_cmd_begin(void);
void console_cmd_end(void);
/* True when Ctrl-C was typed since the running command started.  Cheap:
 * call it from loops (it polls the UART itself at most once per ms, for
 * loops that run with interrupts off). */
bool console_interrupted(void);

struct console_input_stats {
	uint64_t bytes;          /* taken off the UART */
	uint64_t dropped;        /* found the ring full */
	uint64_t burst_bytes;    /* the last burst of >= CONSOLE_BURST_MIN bytes */
	uint64_t burst_ns;       /* its first byte taken to its last byte handled */
};
#define CONSOLE_BURST_MIN 256
#define CONSOLE_BURST_GAP_NS 50000000ULL /* 50 ms without input ends a burst */
void console_input_stats(struct console_input_stats *out);

/* For host tests: start afresh. */
void console_input_reset(void);

#endif

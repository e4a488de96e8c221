/*
 * Host tests for console input (core/console/input_ring.c and
 * console_input.c): the ring keeps order and refuses to overwrite, a Ctrl-C
 * typed after a command's Enter interrupts it and is consumed with the
 * type-ahead before it (but one typed before, or one no command noticed,
 * is kept for the line editor), a full ring still hears Ctrl-C, and the
 * burst figure of `bench console_rx`.  The UART is a scripted byte queue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/console_input.h>
#include <vigil/printk.h>
#include <vigil/string.h>

/* ---- the fake machine ---- */

static uint8_t uart[3 * INPUT_RING_SIZE];
static size_t uart_len, uart_pos;
static uint64_t now_ns;

int arch_console_getc(void)
{
	return uart_pos < uart_len ? uart[uart_pos++] : -1;
}

uint64_t arch_time_ns(void)
{
	return now_ns;
}

void arch_cpu_relax(void)
{
}

/* The poll runs with interrupts off; count that it restores them. */
static int irqs_off;

unsigned long arch_irq_save(void)
{
	return (unsigned long)irqs_off++;
}

void arch_irq_restore(unsigned long flags)
{
	irqs_off = (int)flags;
}

void printk(const char *fmt, ...)
{
	(void)fmt;
}

static void type(const char *s, size_t n)
{
	assert_true(uart_len + n <= sizeof(uart));
	memcpy(uart + uart_len, s, n);
	uart_len += n;
}
#define TYPE(lit) type((lit), sizeof(lit) - 1)

/* Everything the shell would read now, as a string. */
static char *read_all(void)
{
	static char buf[sizeof(uart) + 1];
	size_t n = 0;
	for (int c; (c = console_getc()) >= 0;)
		buf[n++] = (char)c;
	buf[n] = '\0';
	return buf;
}

static int setup(void **state)
{
	(void)state;
	uart_len = uart_pos = 0;
	now_ns = 1000000000ULL;
	console_input_reset();
	return 0;
}

/* ---- the ring ---- */

static void ring_keeps_order_and_refuses_when_full(void **state)
{
	(void)state;
	static struct input_ring r;
	input_ring_init(&r);
	assert_int_equal(input_ring_pop(&r), -1);
	for (int round = 0; round < 3; round++) {   /* wraps around the buffer */
		for (unsigned i = 0; i < INPUT_RING_SIZE; i++)
			assert_true(input_ring_push(&r, (uint8_t)(i * 7 + round)));
		assert_false(input_ring_push(&r, 0xEE));
		assert_int_equal(input_ring_count(&r), INPUT_RING_SIZE);
		for (unsigned i = 0; i < INPUT_RING_SIZE; i++)
			assert_int_equal(input_ring_pop(&r), (uint8_t)(i * 7 + round));
		assert_int_equal(input_ring_pop(&r), -1);
		assert_int_equal(input_ring_count(&r), 0);
	}
}

static void ring_discard_stops_at_head(void **state)
{
	(void)state;
	static struct input_ring r;
	input_ring_init(&r);
	for (int i = 0; i < 10; i++)
		input_ring_push(&r, (uint8_t)('a' + i));
	input_ring_discard_to(&r, 4);          /* drops a-d */
	assert_int_equal(input_ring_pop(&r), 'e');
	input_ring_discard_to(&r, 2);          /* behind the tail: nothing */
	assert_int_equal(input_ring_pop(&r), 'f');
	input_ring_discard_to(&r, 1000);       /* past the head: empties it */
	assert_int_equal(input_ring_pop(&r), -1);
	assert_true(input_ring_push(&r, 'z'));
	assert_int_equal(input_ring_pop(&r), 'z');
}

/* ---- the console ---- */

static void type_ahead_while_busy_is_kept_in_order(void **state)
{
	(void)state;
	TYPE("vm run 1\r");
	for (const char *p = "vm run 1\r"; *p; p++)
		assert_int_equal(console_getc(), *p);
	console_cmd_begin();                   /* the Enter started a command */
	for (int i = 0; i < 100; i++)
		TYPE("version\r");             /* 800 bytes: fifty UART FIFOs */
	for (int i = 0; i < 20; i++) {         /* the command polls now and then */
		console_input_poll();
		assert_false(console_interrupted());
	}
	console_cmd_end();
	char *got = read_all();
	assert_int_equal(strlen(got), 800);
	for (int i = 0; i < 100; i++)
		assert_memory_equal(got + 8 * i, "version\r", 8);
}

static void ctrl_c_after_enter_interrupts_and_eats_type_ahead(void **state)
{
	(void)state;
	TYPE("stress\r");
	read_all();
	console_cmd_begin();
	TYPE("typed while busy\x03" "after\r");
	now_ns += 2000000;                     /* it polls the UART itself */
	assert_true(console_interrupted());
	assert_true(console_interrupted());    /* stays true for the command */
	console_cmd_end();
	/* The Ctrl-C and the type-ahead before it are consumed; what came
	 * after it is the next line. */
	assert_string_equal(read_all(), "after\r");
	/* The next command is not interrupted by the old Ctrl-C. */
	console_cmd_begin();
	assert_false(console_interrupted());
	console_cmd_end();
}

static void ctrl_c_before_enter_belongs_to_the_line_editor(void **state)
{
	(void)state;
	TYPE("abc\x03" "vm run 1\r");
	assert_int_equal(console_getc(), 'a');
	assert_int_equal(console_getc(), 'b');
	assert_int_equal(console_getc(), 'c');
	assert_int_equal(console_getc(), 0x03); /* reaches the line editor */
	for (const char *p = "vm run 1\r"; *p; p++)
		assert_int_equal(console_getc(), *p);
	console_cmd_begin();
	now_ns += 2000000;
	assert_false(console_interrupted());
	console_cmd_end();
}

static void ctrl_c_no_command_noticed_is_kept(void **state)
{
	(void)state;
	TYPE("version\r");
	read_all();
	console_cmd_begin();                   /* a short command that never polls */
	TYPE("\x03");
	console_input_poll();
	console_cmd_end();
	assert_string_equal(read_all(), "\x03"); /* the editor abandons the line */
}

static void not_interrupted_outside_a_command(void **state)
{
	(void)state;
	TYPE("\x03");
	console_input_poll();
	assert_false(console_interrupted());
}

static void full_ring_drops_bytes_but_hears_ctrl_c(void **state)
{
	(void)state;
	TYPE("x\r");
	read_all();
	console_cmd_begin();
	static char junk[INPUT_RING_SIZE + 100];
	memset(junk, 'j', sizeof(junk));
	type(junk, sizeof(junk));
	TYPE("\x03");
	console_input_poll();                  /* one poll takes at most 256 bytes */
	assert_int_equal(uart_pos, 2 + 256);
	while (uart_pos < uart_len)            /* the ticks that follow */
		console_input_poll();
	now_ns += 2000000;
	assert_true(console_interrupted());
	struct console_input_stats st;
	console_input_stats(&st);
	assert_int_equal(st.dropped, 101);
	assert_int_equal(st.bytes, 2 + sizeof(junk) + 1);
	console_cmd_end();
	assert_string_equal(read_all(), "");   /* all of it was before the Ctrl-C */
}


static void dropped_ctrl_c_eats_the_next_byte(void **state)
{
	(void)state;
	TYPE("x\r");
	read_all();
	console_cmd_begin();                   /* a command that never polls */
	static char junk[INPUT_RING_SIZE];
	memset(junk, 'j', sizeof(junk));
	type(junk, sizeof(junk));
	TYPE("\x03");                         /* finds the ring full: dropped */
	while (uart_pos < uart_len)
		console_input_poll();
	console_cmd_end();                     /* nobody noticed */
	assert_int_equal(console_getc(), 'j'); /* the shell takes one byte... */
	console_cmd_begin();                   /* ...which starts a command */
	TYPE("a");                             /* typed after the Ctrl-C (room for one byte) */
	console_input_poll();
	now_ns += 2000000;
	assert_true(console_interrupted());
	console_cmd_end();
	assert_string_equal(read_all(), "a");
	assert_int_equal(irqs_off, 0);
}

static void interrupted_polls_at_most_once_per_ms(void **state)
{
	(void)state;
	TYPE("x\r");
	read_all();
	console_cmd_begin();
	now_ns += 2000000;
	assert_false(console_interrupted());   /* polled: nothing */
	TYPE("\x03");
	now_ns += 500000;
	assert_false(console_interrupted());   /* 0.5 ms later: not polled yet */
	now_ns += 600000;
	assert_true(console_interrupted());
	console_cmd_end();
}

/* ---- bench console_rx ---- */

extern const struct bench __start_benches[], __stop_benches[];

static unsigned run_bench(uint64_t *samples)
{
	for (const struct bench *b = __start_benches; b < __stop_benches; b++)
		if (!strcmp(b->name, "console_rx"))
			return b->run(samples, BENCH_MAX_SAMPLES);
	fail_msg("no console_rx benchmark registered");
	return 0;
}

static void burst_rate_is_bytes_over_time(void **state)
{
	(void)state;
	uint64_t samples[BENCH_MAX_SAMPLES];
	assert_int_equal(run_bench(samples), 0);   /* no burst yet */

	/* 1152 bytes taken 16 per ms, as the tick would at 115200 baud with
	 * a full FIFO: the first at t, the last handled 72 ms later. */
	for (int ms = 0; ms < 72; ms++) {
		char chunk[16];
		memset(chunk, ' ', sizeof(chunk));
		type(chunk, sizeof(chunk));
		console_input_poll();
		read_all();
		now_ns += 1000000;
	}
	now_ns -= 1000000;
	assert_int_equal(run_bench(samples), 1);
	/* 1152 bytes over 71 ms (first byte to last) */
	assert_int_equal(samples[0], 1152ULL * 1000000000ULL / 71000000ULL);

	/* A few bytes are no burst. */
	now_ns += 1000000000ULL;
	TYPE("version\r");
	read_all();
	assert_int_equal(run_bench(samples), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(ring_keeps_order_and_refuses_when_full, setup),
		cmocka_unit_test_setup(ring_discard_stops_at_head, setup),
		cmocka_unit_test_setup(type_ahead_while_busy_is_kept_in_order, setup),
		cmocka_unit_test_setup(ctrl_c_after_enter_interrupts_and_eats_type_ahead, setup),
		cmocka_unit_test_setup(ctrl_c_before_enter_belongs_to_the_line_editor, setup),
		cmocka_unit_test_setup(ctrl_c_no_command_noticed_is_kept, setup),
		cmocka_unit_test_setup(not_interrupted_outside_a_command, setup),
		cmocka_unit_test_setup(full_ring_drops_bytes_but_hears_ctrl_c, setup),
		cmocka_unit_test_setup(dropped_ctrl_c_eats_the_next_byte, setup),
		cmocka_unit_test_setup(interrupted_polls_at_most_once_per_ms, setup),
		cmocka_unit_test_setup(burst_rate_is_bytes_over_time, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

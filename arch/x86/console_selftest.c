/*
 * Self-test console_typeahead: input that arrives while a command runs is
 * taken off the UART in time.  The console UART is put in loopback mode
 * (PC16550D, MCR bit 4: what is sent arrives in the receive FIFO, and a
 * 17th unread byte is an overrun, in QEMU and Bochs as on hardware) and
 * 192 bytes are sent while this command, like any long one, never reads
 * the console.  They are paced by the boot CPU's timer tick, 8 bytes per
 * tick (a 16550 at 115200 baud receives 11.5 per millisecond), so the
 * result does not depend on how fast the emulator runs: only the tick's
 * poll into the input ring keeps the FIFO from overflowing.  Then every
 * byte must come out of the ring, in order, and no overrun be seen.
 *
 * Nothing may print meanwhile (it would be looped back): the test runs
 * with the console otherwise quiet; the echo is off while loopback is on.
 */
#include <asm/apic.h>
#include <vigil/arch.h>
#include <vigil/console_input.h>
#include <vigil/selftest.h>
#include <vigil/uart.h>

#define TYPEAHEAD_BYTES    192
#define BYTES_PER_TICK     8

static bool wait_tick(void)
{
	uint64_t t = __atomic_load_n(&lapic_timer_ticks, __ATOMIC_RELAXED);
	uint64_t start = arch_time_ns();
	while (__atomic_load_n(&lapic_timer_ticks, __ATOMIC_RELAXED) == t)
		if (arch_time_ns() - start > 2000000000ULL)
			return false;
	return true;
}

static int console_typeahead(struct selftest_ctx *ctx)
{
	if (!uart_active())
		return st_skip(ctx, "no serial console");
	if (!arch_irqs_enabled())
		return st_skip(ctx, "interrupts are off here");
	/* Old input out of the way: it is not this test's. */
	while (console_getc() >= 0)
		;
	uint64_t overruns0 = uart_overruns();
	uart_drain();
	uart_loopback(true);
	bool ticking = true, sent = true;
	for (unsigned i = 0; i < TYPEAHEAD_BYTES && ticking && sent; i++) {
		if (i % BYTES_PER_TICK == 0)
			ticking = wait_tick();
		sent = uart_send_byte((uint8_t)('a' + i % 26));
	}
	/* Two more ticks: the last bytes reach the ring. */
	ticking = ticking && wait_tick() && wait_tick();
	uart_drain();
	uart_loopback(false);
	ST_ASSERT(ctx, ticking, "the boot CPU's timer did not tick within 2 s");
	ST_ASSERT(ctx, sent, "the UART did not take a byte");

	unsigned got = 0, wrong = 0;
	for (int c; (c = console_getc()) >= 0; got++)
		if (got < TYPEAHEAD_BYTES && c != 'a' + (int)(got % 26))
			wrong++;
	uint64_t overruns = uart_overruns() - overruns0;
	ST_ASSERT(ctx, got == TYPEAHEAD_BYTES && !wrong && !overruns,
		  "%u of %u bytes typed ahead came through (%u wrong, %lu receive overruns)", got,
		  TYPEAHEAD_BYTES, wrong, (unsigned long)overruns);
	return 0;
}
SELFTEST(console_typeahead, console_typeahead);

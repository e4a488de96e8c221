/*
 * Console input: the UART's bytes go into a ring as soon as anything polls
 * (the boot CPU's timer tick, 1 kHz; the shell; console_interrupted()), so
 * that a 16-byte receive FIFO never overruns while a command runs, and a
 * Ctrl-C reaches the command.  include/vigil/console_input.h has the rules.
 *
 * At 115200 baud 11.5 bytes arrive per millisecond, so a poll every tick
 * keeps up with the line as long as the UART holds at least that many
 * (the driver sets the 16550's receive trigger to 14 bytes; QEMU only
 * queues up to the trigger level, so the trigger is also what lets more
 * than one byte per tick in there).
 */
#include <vigil/arch.h>
#include <vigil/atomic.h>
#include <vigil/bench.h>
#include <vigil/console_input.h>
#include <vigil/printk.h>

#define POLL_MAX_BYTES 256

static struct input_ring ring;
static int poll_lock;          /* 1 while someone moves bytes into the ring */
static uint64_t last_poll_ns;  /* console_interrupted()'s own polls */

/* Ctrl-C: the position just after the latest one (0: none yet). */
static uint64_t intr_pos;
/* The running command: input from this position on was typed after its Enter. */
static uint64_t cmd_pos;
static bool cmd_active;
static bool intr_seen;         /* a command was told it was interrupted */

static struct console_input_stats stats;
/* The burst being received: its first byte's time, size, latest activity. */
static uint64_t burst_start_ns, burst_count, burst_last_ns;
#define BURST_HISTORY 8
static uint64_t burst_rate[BURST_HISTORY]; /* bytes per second, completed bursts */
static unsigned burst_done;

void console_input_reset(void)
{
	input_ring_init(&ring);
	poll_lock = 0;
	last_poll_ns = 0;
	intr_pos = cmd_pos = 0;
	cmd_active = intr_seen = false;
	stats = (struct console_input_stats){ 0 };
	burst_start_ns = burst_count = burst_last_ns = 0;
	burst_done = 0;
}

/* A burst ends after CONSOLE_BURST_GAP_NS without input; a big one is kept. */
static void burst_close(void)
{
	uint64_t ns = burst_last_ns - burst_start_ns;

	if (burst_count >= CONSOLE_BURST_MIN && ns) {
		WRITE_ONCE(stats.burst_bytes, burst_count);
		WRITE_ONCE(stats.burst_ns, ns);
		burst_rate[burst_done % BURST_HISTORY] = burst_count * 1000000000ULL / ns;
		WRITE_ONCE(burst_done, burst_done + 1);
	}
	burst_count = 0;
}

static void burst_note_byte(uint64_t now)
{
	if (burst_count && now - READ_ONCE(burst_last_ns) > CONSOLE_BURST_GAP_NS)
		burst_close();
	if (!burst_count)
		burst_start_ns = now;
	burst_count++;
	WRITE_ONCE(burst_last_ns, now);
}

void console_input_poll(void)
{
	if (__atomic_exchange_n(&poll_lock, 1, __ATOMIC_ACQUIRE))
		return;
	/* Interrupts off while the producer role is held: a task preempted
	 * here would leave every tick finding poll_lock taken, and nobody would
	 * read the UART (16 bytes of FIFO: about 1.4 ms at 115200) until the
	 * task ran again.  Bounded by POLL_MAX_BYTES. */
	unsigned long flags = arch_irq_save();
	uint64_t now = 0;
	/* Bounded: an emulator can refill its FIFO as fast as it is read, and
	 * this runs in the timer interrupt.  A real UART holds 16 bytes. */
	int c;
	for (unsigned n = 0; n < POLL_MAX_BYTES && (c = arch_console_getc()) >= 0; n++) {
		if (!now)
			now = arch_time_ns();
		stats.bytes++;
		burst_note_byte(now);
		if (!input_ring_push(&ring, (uint8_t)c)) {
			stats.dropped++;
			/* Still heard: Ctrl-C is the way out of a command
			 * that let the ring fill up. */
			/* Nothing was stored, so the mark is the current head:
			 * head + 1 would also discard the next byte typed after
			 * the Ctrl-C.  A full ring has head > tail >= cmd_pos, so
			 * the mark is still seen as inside the command. */
			if (c == CONSOLE_CTRL_C)
				smp_store_release(&intr_pos, READ_ONCE(ring.head));
			continue;
		}
		if (c == CONSOLE_CTRL_C)
			smp_store_release(&intr_pos, READ_ONCE(ring.head));
	}
	__atomic_store_n(&poll_lock, 0, __ATOMIC_RELEASE);
	arch_irq_restore(flags);
}

int console_getc(void)
{
	console_input_poll();
	int c = input_ring_pop(&ring);
	if (c >= 0 && burst_count)
		WRITE_ONCE(burst_last_ns, arch_time_ns());
	return c;
}

void console_cmd_begin(void)
{
	cmd_pos = READ_ONCE(ring.tail);
	intr_seen = false;
	WRITE_ONCE(cmd_active, true);
}

void console_cmd_end(void)
{
	WRITE_ONCE(cmd_active, false);
	if (intr_seen)
		input_ring_discard_to(&ring, smp_load_acquire(&intr_pos));
	intr_seen = false;
}

bool console_interrupted(void)
{
	if (!READ_ONCE(cmd_active))
		return false;
	uint64_t now = arch_time_ns();
	if (now - READ_ONCE(last_poll_ns) >= 1000000ULL) {
		WRITE_ONCE(last_poll_ns, now);
		console_input_poll();
	}
	if (smp_load_acquire(&intr_pos) > cmd_pos)
		intr_seen = true;
	return intr_seen;
}

void console_input_stats(struct console_input_stats *out)
{
	*out = stats;
	out->bytes = READ_ONCE(stats.bytes);
	out->dropped = READ_ONCE(stats.dropped);
}

/*
 * bench console_rx: how fast the console took in the recent bursts of input
 * (at least CONSOLE_BURST_MIN bytes each): bytes over the time from the first
 * byte taken off the UART to the last byte handled by the shell, echo
 * included.  The kernel cannot type at itself, so the figure needs input:
 * paste a few hundred bytes, or let the harness's bench send them.  The line
 * rate is the ceiling: 11,520 B/s at 115200 8N1.
 */
static unsigned bench_console_rx(uint64_t *samples, unsigned max)
{
	/* The burst being received ends here: the command that asks for the
	 * figure was its last line. */
	while (__atomic_exchange_n(&poll_lock, 1, __ATOMIC_ACQUIRE))
		arch_cpu_relax();
	if (burst_count)
		burst_close();
	__atomic_store_n(&poll_lock, 0, __ATOMIC_RELEASE);

	unsigned done = READ_ONCE(burst_done), n = 0;
	for (unsigned i = done > BURST_HISTORY ? done - BURST_HISTORY : 0; i < done && n < max; i++)
		samples[n++] = burst_rate[i % BURST_HISTORY];
	if (!n)
		printk("bench: console_rx: refused: no burst of %u+ input bytes yet (paste some text first)\n",
		       CONSOLE_BURST_MIN);
	return n;
}
BENCH(console_rx, "B/s", bench_console_rx);

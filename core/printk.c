/*
 * printk: the kernel log.  Each line gets a "[seconds.micros] " prefix, so a
 * log line always starts with '[' and is never mistaken for a console status
 * line (docs/console.md).  Lines are assembled in a per-call buffer and
 * written whole under a lock so that CPUs do not interleave mid-line.
 */
#include <stdarg.h>
#include <vigil/arch.h>
#include <vigil/panic.h>
#include <vigil/printk.h>
#include <vigil/string.h>

static int console_lock;
static bool at_line_start = true;
/* The unfinished line on the console is console output (the shell's prompt
 * and echo), not a printk line being continued. */
static bool partial_is_output;
/* printk lines that had to break such a line (console_write_resumable()). */
static uint64_t line_breaks;

static void lock_console(unsigned long *flags)
{
	*flags = arch_irq_save();
	unsigned long spins = 0;
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&console_lock, __ATOMIC_RELAXED)) {
			/* The CPU that owns a panic does not wait for long:
			 * the holder may be a CPU it stopped, or itself (a
			 * fault inside printk panicking again). */
			if (++spins > 1000000 && panic_on_this_cpu())
				return;
			/* A spin-wait hint (x86 PAUSE): it lets the holder's
			 * hyperthread, or an emulator's holding vCPU, run. */
			arch_cpu_relax();
		}
}

static void unlock_console(unsigned long flags)
{
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
	arch_irq_restore(flags);
}

void console_write(const char *s, size_t n)
{
	unsigned long flags;
	lock_console(&flags);
	arch_console_write(s, n);
	if (n) {
		at_line_start = s[n - 1] == '\n';
		partial_is_output = !at_line_start;
	}
	unlock_console(flags);
}

void console_write_resumable(uint64_t *seen, const char *s, size_t n, const char *again, size_t again_n)
{
	unsigned long flags;
	lock_console(&flags);
	const char *out = *seen != line_breaks ? again : s;
	size_t len = *seen != line_breaks ? again_n : n;
	*seen = line_breaks;
	arch_console_write(out, len);
	if (len) {
		at_line_start = out[len - 1] == '\n';
		partial_is_output = !at_line_start;
	}
	unlock_console(flags);
}

void vprintk(const char *fmt, va_list ap)
{
	char buf[512];
	uint64_t ns = arch_time_ns();
	va_list aq;
	va_copy(aq, ap);
	int body = vsnprintf(buf, sizeof(buf), fmt, aq);
	va_end(aq);
	if (body < 0)
		return;
	size_t len = MIN((size_t)body, sizeof(buf) - 1);

	unsigned long flags;
	lock_console(&flags);
	/* A message never continues the shell's prompt or echo: it would hide
	 * its timestamp and run into the command line.  It gets a line of its
	 * own, and the shell prints its line again before it echoes more. */
	if (!at_line_start && partial_is_output) {
		arch_console_write("\n", 1);
		at_line_start = true;
		line_breaks++;
	}
	partial_is_output = false;
	/* Timestamp each new line (a message may hold several). */
	size_t pos = 0;
	while (pos < len) {
		if (at_line_start) {
			char ts[32];
			int n = snprintf(ts, sizeof(ts), "[%5lu.%06lu] ", (unsigned long)(ns / 1000000000ULL),
					 (unsigned long)(ns % 1000000000ULL / 1000));
			arch_console_write(ts, (size_t)n);
			at_line_start = false;
		}
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t chunk = nl ? (size_t)(nl - (buf + pos)) + 1 : len - pos;
		arch_console_write(buf + pos, chunk);
		pos += chunk;
		if (nl)
			at_line_start = true;
	}
	if (body >= (int)sizeof(buf)) {
		arch_console_write("...\n", 4);
		at_line_start = true;
	}
	unlock_console(flags);
}

void printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}

void kprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		console_write(buf, MIN((size_t)n, sizeof(buf) - 1));
}

/* Set by a caller that already printed registers and a backtrace. */
bool panic_backtrace_done;

/* The console lock may be held by a CPU that is stopped, or by this one
 * (a panic from inside printk): take it over. */
static void console_take_over(void)
{
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
	if (!at_line_start)
		arch_console_write("\n", 1);
	at_line_start = true;
}

/*
 * Only the first CPU to panic gets past panic_enter(); a CPU that panics
 * second is stopped in there like the NMI would stop it.  A panic inside
 * panic (depth 2: a fault while formatting or printing the backtrace, say)
 * still stops the other CPUs if the first one had not got that far; a third
 * stops the machine at once.
 */
void panic(const char *fmt, ...)
{
	arch_irq_save();
	unsigned depth = panic_enter();
	if (depth > 2)
		arch_poweroff(1);
	console_take_over();
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printk("KERNEL PANIC: %s%s\n", depth > 1 ? "while panicking: " : "", buf);
	if (depth == 1 && !panic_backtrace_done)
		arch_dump_stack();
	if (panic_stop_other_cpus()) {
		console_take_over();
		panic_report_cpus();
	}
	printk("KERNEL PANIC: stopping the machine\n");
	arch_poweroff(1);
}

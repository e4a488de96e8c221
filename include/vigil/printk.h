/*
 * Kernel log.  Every line printk emits starts with "[" and a timestamp
 * ("[    1.234567] ..."), so the console protocol never mistakes a log line
 * for a status line.  Output goes to every console device (serial, and the
 * framebuffer when present).
 */
#ifndef VIGIL_PRINTK_H
#define VIGIL_PRINTK_H

#include <stdarg.h>
#include <vigil/types.h>

__printf(1, 2) void printk(const char *fmt, ...);
void vprintk(const char *fmt, va_list ap);

/* Print without the timestamp prefix (console replies, raw output). */
__printf(1, 2) void kprintf(const char *fmt, ...);
void console_write(const char *s, size_t n);
/*
 * For the shell's prompt and echo: write s, or `again` instead when a printk
 * line broke the console's unfinished line since *seen was last updated
 * (the shell passes its prompt and the line typed so far, so the command
 * line is whole again below the log line); *seen is updated.  Both under
 * the console lock, so no printk can fall between the look and the write.
 */
void console_write_resumable(uint64_t *seen, const char *s, size_t n, const char *again, size_t again_n);

/* Print the message and a backtrace, then stop the machine (under QEMU, exit
 * with a failure status). */
__printf(1, 2) __noreturn void panic(const char *fmt, ...);

#define BUG_ON(cond) do { if (unlikely(cond)) \
	panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); } while (0)
#define WARN_ON(cond) ({ bool __w = !!(cond); if (unlikely(__w)) \
	printk("WARNING: %s at %s:%d\n", #cond, __FILE__, __LINE__); __w; })

#endif

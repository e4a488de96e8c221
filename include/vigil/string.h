/*
 * The kernel's small C library: memory and string functions, number parsing
 * and snprintf.
 *
 * Kernel (VIGIL_KERNEL): there is no libc.  core/lib/string.c has the
 * standard mem and str functions, core/lib/kstrto.c the vigil-specific
 * helpers, core/lib/vsnprintf.c the formatter.
 *
 * Host (VIGIL_HOST): core/ code compiled for unit tests uses the host libc for
 * the standard functions, so this header just pulls in <string.h> and
 * <stdio.h> and declares only what libc lacks (kstrtou64 and friends,
 * strlcpy on old glibc): core/lib/kstrto.c builds on the host,
 * core/lib/string.c compiles to nothing there.
 * core/lib/vsnprintf.c builds on the host as vigil_vsnprintf/vigil_snprintf
 * so a test can compare it against glibc's in one program.
 */
#ifndef VIGIL_STRING_H
#define VIGIL_STRING_H

#include <stdarg.h>
#include <vigil/types.h>

#ifdef VIGIL_HOST
#include <stdio.h>
#include <string.h>

/* glibc grew strlcpy in 2.38; provide ours only where it is missing. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 38))
#define VIGIL_LIBC_HAS_STRLCPY 1
#else
size_t strlcpy(char *dst, const char *src, size_t size);
#endif

/* The kernel's formatter under names that do not clash with libc's. */
__printf(3, 0) int vigil_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
__printf(3, 4) int vigil_snprintf(char *buf, size_t size, const char *fmt, ...);

#else /* kernel */

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);

size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle);
/* Copies at most size-1 bytes, always NUL-terminates when size > 0, returns
 * strlen(src) so truncation is detectable (ret >= size). */
size_t strlcpy(char *dst, const char *src, size_t size);

/* Standard semantics: returns the length the full output would have had,
 * always NUL-terminates when size > 0.  Supports %d %i %u %x %X %o %p %s %c
 * %%, flags '-' '0' '+' ' ' '#', width and precision (also '*'), length
 * modifiers hh h l ll z j t.  No floating point (the kernel has no SSE).
 * %p prints "0x" and 16 hex digits. */
__printf(3, 0) int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
__printf(3, 4) int snprintf(char *buf, size_t size, const char *fmt, ...);

#endif /* VIGIL_HOST */

/*
 * Number parsing for the command line and the console.  The whole string must
 * be a number: no leading or trailing blanks, no sign for the unsigned
 * variants.  base 0 means "0x"/"0X" prefix -> hex, otherwise decimal (a
 * leading 0 is *not* octal: "010" is ten, which is what people typing at a
 * console mean).  base 16 also accepts an optional 0x prefix.  Bases 2..36.
 * Return 0 and store *out on success; return -1 and leave *out untouched on
 * empty input, a stray character, or overflow.
 */
int kstrtou64(const char *s, int base, uint64_t *out);
int kstrtos64(const char *s, int base, int64_t *out);   /* optional leading '-' or '+' */
int kstrtouint(const char *s, int base, unsigned int *out);
int kstrtoint(const char *s, int base, int *out);
/* "1", "y", "yes", "on", "true" / "0", "n", "no", "off", "false" (any case). */
int kstrtobool(const char *s, bool *out);

/* Small ctype helpers (ASCII only; the locale is always "C"). */
static inline bool kisdigit(int c) { return c >= '0' && c <= '9'; }
static inline bool kisxdigit(int c)
{
	return kisdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline bool kisspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
static inline bool kisalpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline bool kisalnum(int c) { return kisalpha(c) || kisdigit(c); }
static inline bool kisprint(int c) { return c >= 0x20 && c < 0x7f; }
static inline int ktolower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }
static inline int ktoupper(int c) { return (c >= 'a' && c <= 'z') ? c - ('a' - 'A') : c; }
/* Case-insensitive ASCII comparison (console commands, cmdline keywords). */
int kstrcasecmp(const char *a, const char *b);

#endif

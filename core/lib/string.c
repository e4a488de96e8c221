/*
 * The standard memory and string functions (C11 7.24) for the kernel.
 *
 * Built only for the kernel: on the host, core/ code uses libc's (see
 * include/vigil/string.h).  The host unit test builds this file under other
 * names (tests/unit/lib_kstring.c) to test it anyway.  The vigil-specific
 * helpers live in core/lib/kstrto.c, which builds everywhere.
 */
#include <vigil/string.h>

#ifndef VIGIL_HOST

/*
 * GCC recognises byte loops as memset/memcpy patterns and replaces them with
 * calls to those very functions, which here would recurse forever.
 * -fno-builtin does not stop that; turning off loop-pattern distribution for
 * these functions does.
 */
#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

/* Word accesses through this type may alias anything (-fno-strict-aliasing
 * is on anyway, but say so where it matters). */
typedef uint64_t __attribute__((may_alias)) word_t;
#define WORD sizeof(word_t)

static inline bool both_aligned(const void *a, const void *b)
{
	return (((uintptr_t)a | (uintptr_t)b) & (WORD - 1)) == 0;
}

NO_LIBCALL void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (both_aligned(d, s)) {
		for (; n >= WORD; n -= WORD, d += WORD, s += WORD)
			*(word_t *)d = *(const word_t *)s;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

NO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if ((uintptr_t)d == (uintptr_t)s || n == 0)
		return dst;
	if ((uintptr_t)d < (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n) {
		/* Forward copy is safe: dst starts before src, or they do not overlap. */
		if (both_aligned(d, s) && (uintptr_t)s - (uintptr_t)d >= WORD) {
			for (; n >= WORD; n -= WORD, d += WORD, s += WORD)
				*(word_t *)d = *(const word_t *)s;
		}
		while (n--)
			*d++ = *s++;
	} else {
		/* dst overlaps the tail of src: copy from the end. */
		d += n;
		s += n;
		if (both_aligned(d, s) && (uintptr_t)d - (uintptr_t)s >= WORD) {
			for (; n >= WORD; n -= WORD) {
				d -= WORD;
				s -= WORD;
				*(word_t *)d = *(const word_t *)s;
			}
		}
		while (n--)
			*--d = *--s;
	}
	return dst;
}

NO_LIBCALL void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	unsigned char b = (unsigned char)c;

	while (n && ((uintptr_t)d & (WORD - 1))) {
		*d++ = b;
		n--;
	}
	if (n >= WORD) {
		word_t w = 0x0101010101010101ULL * b;
		for (; n >= WORD; n -= WORD, d += WORD)
			*(word_t *)d = w;
	}
	while (n--)
		*d++ = b;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x < *y ? -1 : 1;
	}
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	for (; n; n--, p++) {
		if (*p == (unsigned char)c)
			return (void *)p;
	}
	return NULL;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

	while (*x && *x == *y) {
		x++;
		y++;
	}
	return (*x > *y) - (*x < *y);
}

int strncmp(const char *a, const char *b, size_t n)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x < *y ? -1 : 1;
		if (!*x)
			break;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

char *strrchr(const char *s, int c)
{
	const char *last = NULL;

	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (!*s)
			return (char *)last;
	}
}

char *strstr(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	if (!n)
		return (char *)haystack;
	for (; *haystack; haystack++) {
		if (*haystack == *needle && !strncmp(haystack, needle, n))
			return (char *)haystack;
	}
	return NULL;
}

#endif /* !VIGIL_HOST */

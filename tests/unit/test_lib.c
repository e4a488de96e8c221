/*
 * Host tests for the kernel's C library: vsnprintf compared with glibc's on a
 * table of formats, number parsing edge cases, and the kernel's mem and str
 * functions (built as k_* by lib_kstring.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/string.h>

/* core/lib/string.c built under other names (lib_kstring.c). */
void *k_memcpy(void *restrict dst, const void *restrict src, size_t n);
void *k_memmove(void *dst, const void *src, size_t n);
void *k_memset(void *dst, int c, size_t n);
int k_memcmp(const void *a, const void *b, size_t n);
void *k_memchr(const void *s, int c, size_t n);
size_t k_strlen(const char *s);
size_t k_strnlen(const char *s, size_t max);
int k_strcmp(const char *a, const char *b);
int k_strncmp(const char *a, const char *b, size_t n);
char *k_strchr(const char *s, int c);
char *k_strrchr(const char *s, int c);
char *k_strstr(const char *h, const char *n);

/* Buffer sizes go through a volatile so the compiler cannot prove (and warn
 * about) truncation we do on purpose. */
static volatile size_t vsize;

/* Format with both implementations into buffers of every size from 0 to
 * full+2 and demand identical return values and identical bytes (including
 * the bytes after the terminator, which must be left alone). */
static void vsame(const char *file, int line, const char *fmt, va_list args)
{
	char want[512], got[512];
	va_list ap, ap2;
	int nwant, ngot;

	va_copy(ap, args);
	va_copy(ap2, args);
	vsize = sizeof(want);
	nwant = vsnprintf(want, vsize, fmt, ap);
	ngot = vigil_vsnprintf(got, vsize, fmt, ap2);
	va_end(ap2);
	va_end(ap);
	if (nwant != ngot || strcmp(want, got)) {
		print_error("%s:%d: format \"%s\": libc %d \"%s\", vigil %d \"%s\"\n",
			    file, line, fmt, nwant, want, ngot, got);
		fail();
	}

	for (size_t size = 0; size < (size_t)nwant + 3 && size < sizeof(want); size++) {
		memset(want, 'Z', sizeof(want));
		memset(got, 'Z', sizeof(got));
		va_copy(ap, args);
		va_copy(ap2, args);
		vsize = size;
		nwant = vsnprintf(want, vsize, fmt, ap);
		ngot = vigil_vsnprintf(got, vsize, fmt, ap2);
		va_end(ap2);
		va_end(ap);
		if (nwant != ngot || memcmp(want, got, sizeof(want))) {
			print_error("%s:%d: format \"%s\" size %zu: libc %d \"%.*s\", vigil %d \"%.*s\"\n",
				    file, line, fmt, size, nwant, (int)size, want, ngot, (int)size, got);
			fail();
		}
	}
}

#define SAME(...) same_as_libc(__FILE__, __LINE__, __VA_ARGS__)
static void __printf(3, 4) same_as_libc(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsame(file, line, fmt, ap);
	va_end(ap);
}

/* The same for formats C defines but gcc's -Wformat frowns upon (the '0' flag
 * with a precision, an empty format): no format attribute. */
#define SAME_UNCHECKED(...) same_unchecked(__FILE__, __LINE__, __VA_ARGS__)
static void same_unchecked(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsame(file, line, fmt, ap);
	va_end(ap);
}

static void test_fmt_basic(void **state)
{
	(void)state;
	SAME_UNCHECKED("");
	SAME("plain text");
	SAME("100%%");
	SAME("%%%d%%", 5);
	SAME("%c%c%c", 'a', 'b', 'c');
	SAME("[%5c][%-5c]", 'x', 'y');
	SAME("%s", "hello");
	SAME("[%10s][%-10s]", "hi", "hi");
	SAME("[%.3s][%.0s][%.10s]", "abcdef", "abc", "abc");
	SAME("[%8.3s][%-8.3s]", "abcdef", "abcdef");
	SAME("[%*s][%-*s][%*s]", 6, "ab", 6, "ab", -6, "ab");
	SAME("[%.*s][%.*s]", 2, "abcdef", -1, "abcdef");
	SAME("%s=%d, %s=%u", "a", -1, "b", 7u);
}

static void test_fmt_signed(void **state)
{
	(void)state;
	static const long long vals[] = {
		0, 1, -1, 9, 10, 42, -42, 123456789, -123456789,
		INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN,
	};
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		long long v = vals[i];
		int iv = (int)v;
		SAME("%d|%i|%5d|%-5d|%05d|%+d|% d|%.3d|%8.3d|%-8.3d|%.0d", iv, iv, iv, iv, iv,
		     iv, iv, iv, iv, iv, iv);
		SAME_UNCHECKED("%08.3d|%-08d|%+08.0d", iv, iv, iv);
		SAME("%+05d|% 05d|%-+6d|%- 6d|%+.0d|%*d|%-*d|%.*d", iv, iv, iv, iv, iv, 7, iv, 7, iv, 4, iv);
		SAME("%ld|%lld|%li|%20lld|%-20lld|%020lld|%+lld|%.25lld", (long)v, v, (long)v, v, v,
		     v, v, v);
		SAME("%hhd|%hd|%hhi|%hi", (signed char)iv, (short)iv, (signed char)iv, (short)iv);
		SAME("%jd|%td|%zd", (intmax_t)v, (ptrdiff_t)v, (ssize_t)v);
	}
}

static void test_fmt_unsigned(void **state)
{
	(void)state;
	static const unsigned long long vals[] = {
		0, 1, 7, 8, 9, 10, 15, 16, 255, 256, 0xdeadbeef, UINT32_MAX,
		0x100000000ULL, 0x123456789abcdefULL, UINT64_MAX,
	};
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		unsigned long long v = vals[i];
		unsigned u = (unsigned)v;
		SAME("%u|%x|%X|%o|%8x|%-8x|%08x|%.4x|%8.4x|%.0x|%.0u|%.0o", u, u, u, u, u, u, u, u,
		     u, u, u, u);
		SAME("%#x|%#X|%#o|%#10x|%-#10x|%#010x|%#.0o|%#.0x|%#.5o|%#8.3o", u, u, u, u, u, u, u, u,
		     u, u);
		SAME("%lu|%llu|%lx|%llX|%llo|%#llx|%024llx|%-24llo|%.20llu", (unsigned long)v, v,
		     (unsigned long)v, v, v, v, v, v, v);
		SAME("%hhu|%hu|%hhx|%hX|%hho", (unsigned char)u, (unsigned short)u, (unsigned char)u,
		     (unsigned short)u, (unsigned char)u);
		SAME("%zu|%zx|%ju|%jx|%tx", (size_t)v, (size_t)v, (uintmax_t)v, (uintmax_t)v,
		     (ptrdiff_t)v);
	}
}

static void test_fmt_pointer_and_null(void **state)
{
	(void)state;
	char buf[64];
	const char *volatile nullstr = NULL;

	/* %p deliberately differs from glibc: fixed 0x + 16 digits. */
	assert_int_equal(vigil_snprintf(buf, sizeof(buf), "%p", (void *)0x1234), 18);
	assert_string_equal(buf, "0x0000000000001234");
	vigil_snprintf(buf, sizeof(buf), "%p", (void *)0xffff800000000000ULL);
	assert_string_equal(buf, "0xffff800000000000");
	vigil_snprintf(buf, sizeof(buf), "%p", NULL);
	assert_string_equal(buf, "0x0000000000000000");
	vigil_snprintf(buf, sizeof(buf), "[%20p][%-20p]", (void *)1, NULL);
	assert_string_equal(buf, "[  0x0000000000000001][0x0000000000000000  ]");

	vigil_snprintf(buf, sizeof(buf), "%s|%8s|%-8s|", nullstr, nullstr, nullstr);
	assert_string_equal(buf, "(null)|  (null)|(null)  |");
}

static void test_fmt_edge(void **state)
{
	(void)state;
	char buf[16];

	/* size 0: nothing written at all, not even the NUL; NULL buffer OK. */
	memset(buf, 'Z', sizeof(buf));
	vsize = 0;
	assert_int_equal(vigil_snprintf(buf, vsize, "hello %d", 42), 8);
	assert_int_equal(buf[0], 'Z');
	assert_int_equal(vigil_snprintf(NULL, vsize, "%s", "abc"), 3);

	/* Truncation keeps size-1 bytes and terminates. */
	vsize = 4;
	assert_int_equal(vigil_snprintf(buf, vsize, "abcdef"), 6);
	assert_string_equal(buf, "abc");

	/* Unknown conversions and a trailing '%' are copied, not interpreted.
	 * Built at run time so -Wformat does not object. */
	char fmt[8] = "a%yb%";
	vsize = sizeof(buf);
	assert_int_equal(vigil_snprintf(buf, vsize, fmt), 5);
	assert_string_equal(buf, "a%yb%");

	/* Huge width: counted in full, stored up to the buffer. */
	assert_int_equal(vigil_snprintf(buf, vsize, "%300d", 1), 300);
	assert_int_equal(strlen(buf), 15);
}

static void test_kstrtou64(void **state)
{
	(void)state;
	uint64_t v;

	assert_int_equal(kstrtou64("0", 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(kstrtou64("12345", 0, &v), 0);
	assert_int_equal(v, 12345);
	assert_int_equal(kstrtou64("010", 0, &v), 0); /* decimal, not octal */
	assert_int_equal(v, 10);
	assert_int_equal(kstrtou64("0x1F", 0, &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(kstrtou64("0XabC", 0, &v), 0);
	assert_int_equal(v, 0xabc);
	assert_int_equal(kstrtou64("ff", 16, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(kstrtou64("0xff", 16, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(kstrtou64("777", 8, &v), 0);
	assert_int_equal(v, 511);
	assert_int_equal(kstrtou64("101", 2, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(kstrtou64("zz", 36, &v), 0);
	assert_int_equal(v, 36 * 36 - 1);
	assert_int_equal(kstrtou64("18446744073709551615", 0, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(kstrtou64("0xffffffffffffffff", 0, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(kstrtou64("0000000000000000000000000000042", 10, &v), 0);
	assert_int_equal(v, 42);

	/* Failures leave *out alone. */
	static const struct { const char *s; int base; } bad[] = {
		{ "", 0 }, { "0x", 0 }, { "0x", 16 }, { " 1", 0 }, { "1 ", 0 }, { "-1", 0 },
		{ "+1", 0 }, { "12a", 10 }, { "0x1g", 0 }, { "8", 8 }, { "2", 2 },
		{ "18446744073709551616", 0 }, { "99999999999999999999", 10 },
		{ "0x10000000000000000", 0 }, { "1", 1 }, { "1", 37 }, { "1", -1 },
		{ "0b101", 0 }, { "1\n", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 0x5a5a;
		if (kstrtou64(bad[i].s, bad[i].base, &v) != -1 || v != 0x5a5a) {
			print_error("kstrtou64(\"%s\", %d) accepted\n", bad[i].s, bad[i].base);
			fail();
		}
	}
	assert_int_equal(kstrtou64(NULL, 0, &v), -1);
}

static void test_kstrto_signed_and_small(void **state)
{
	(void)state;
	int64_t s;
	int i;
	unsigned u;
	bool b;

	assert_int_equal(kstrtos64("-9223372036854775808", 0, &s), 0);
	assert_true(s == INT64_MIN);
	assert_int_equal(kstrtos64("9223372036854775807", 0, &s), 0);
	assert_true(s == INT64_MAX);
	assert_int_equal(kstrtos64("9223372036854775808", 0, &s), -1);
	assert_int_equal(kstrtos64("-9223372036854775809", 0, &s), -1);
	assert_int_equal(kstrtos64("-0x10", 0, &s), 0);
	assert_int_equal(s, -16);
	assert_int_equal(kstrtos64("+5", 0, &s), 0);
	assert_int_equal(s, 5);
	assert_int_equal(kstrtos64("-", 0, &s), -1);
	assert_int_equal(kstrtos64("--1", 0, &s), -1);

	assert_int_equal(kstrtoint("-2147483648", 0, &i), 0);
	assert_int_equal(i, INT32_MIN);
	assert_int_equal(kstrtoint("2147483648", 0, &i), -1);
	assert_int_equal(kstrtouint("4294967295", 0, &u), 0);
	assert_true(u == UINT32_MAX);
	assert_int_equal(kstrtouint("4294967296", 0, &u), -1);

	assert_int_equal(kstrtobool("ON", &b), 0);
	assert_true(b);
	assert_int_equal(kstrtobool("off", &b), 0);
	assert_false(b);
	assert_int_equal(kstrtobool("1", &b), 0);
	assert_true(b);
	assert_int_equal(kstrtobool("False", &b), 0);
	assert_false(b);
	assert_int_equal(kstrtobool("maybe", &b), -1);
	assert_int_equal(kstrtobool("", &b), -1);

	assert_int_equal(kstrcasecmp("Console", "cONSOLE"), 0);
	assert_true(kstrcasecmp("a", "B") < 0);
	assert_true(kstrcasecmp("abc", "ab") > 0);
}

static void test_strlcpy(void **state)
{
	(void)state;
	char buf[8];

	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(strlcpy(buf, "hello", sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(strlcpy(buf, "a longer string", sizeof(buf)), 15);
	assert_string_equal(buf, "a longe");
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(strlcpy(buf, "abc", 0), 3);
	assert_int_equal(buf[0], 'Z');
	assert_int_equal(strlcpy(buf, "abc", 1), 3);
	assert_int_equal(buf[0], '\0');
}

/* Reference memmove: the obvious copy through a temporary. */
static void ref_move(unsigned char *base, size_t dst, size_t src, size_t n)
{
	unsigned char tmp[256];
	memcpy(tmp, base + src, n);
	memcpy(base + dst, tmp, n);
}

static void test_kmem(void **state)
{
	(void)state;
	unsigned char a[256], b[256];

	/* memmove: every overlap direction, alignment and length mix. */
	for (size_t dst = 0; dst < 24; dst++) {
		for (size_t src = 0; src < 24; src++) {
			for (size_t n = 0; n < 80; n++) {
				for (size_t i = 0; i < sizeof(a); i++)
					a[i] = b[i] = (unsigned char)(i * 7 + 3);
				assert_ptr_equal(k_memmove(a + dst, a + src, n), a + dst);
				ref_move(b, dst, src, n);
				if (memcmp(a, b, sizeof(a))) {
					print_error("memmove dst %zu src %zu n %zu\n", dst, src, n);
					fail();
				}
			}
		}
	}

	/* memcpy and memset at every alignment; bytes outside stay put. */
	for (size_t off = 0; off < 16; off++) {
		for (size_t n = 0; n < 100; n++) {
			memset(a, 0xee, sizeof(a));
			memset(b, 0xee, sizeof(b));
			for (size_t i = 0; i < n; i++)
				b[128 + i] = (unsigned char)i;
			assert_ptr_equal(k_memcpy(a + off, b + 128, n), a + off);
			for (size_t i = 0; i < sizeof(a); i++) {
				unsigned char want = (i >= off && i < off + n) ? (unsigned char)(i - off) : 0xee;
				assert_int_equal(a[i], want);
			}
			memset(a, 0xee, sizeof(a));
			assert_ptr_equal(k_memset(a + off, 0x1c1, n), a + off); /* only the low byte */
			for (size_t i = 0; i < sizeof(a); i++)
				assert_int_equal(a[i], (i >= off && i < off + n) ? 0xc1 : 0xee);
		}
	}

	assert_int_equal(k_memcmp("abc", "abd", 3), -1);
	assert_int_equal(k_memcmp("abd", "abc", 3), 1);
	assert_int_equal(k_memcmp("ab\xff", "ab\x01", 3), 1); /* unsigned bytes */
	assert_int_equal(k_memcmp("abc", "abd", 2), 0);
	assert_int_equal(k_memcmp("x", "y", 0), 0);
	const char *s = "hello world";
	assert_ptr_equal(k_memchr(s, 'o', 11), s + 4);
	assert_null(k_memchr(s, 'o', 4));
}

static void test_kstr(void **state)
{
	(void)state;
	const char *s = "hello world";

	assert_int_equal(k_strlen(""), 0);
	assert_int_equal(k_strlen(s), 11);
	assert_int_equal(k_strnlen(s, 5), 5);
	assert_int_equal(k_strnlen(s, 50), 11);
	assert_int_equal(k_strcmp("abc", "abc"), 0);
	assert_true(k_strcmp("abc", "abd") < 0);
	assert_true(k_strcmp("abc", "ab") > 0);
	assert_true(k_strcmp("", "a") < 0);
	assert_true(k_strcmp("\xff", "a") > 0); /* compared as unsigned char */
	assert_int_equal(k_strncmp("abcX", "abcY", 3), 0);
	assert_true(k_strncmp("abcX", "abcY", 4) < 0);
	assert_int_equal(k_strncmp("ab", "ab", 10), 0);
	assert_ptr_equal(k_strchr(s, 'o'), s + 4);
	assert_ptr_equal(k_strchr(s, '\0'), s + 11);
	assert_null(k_strchr(s, 'z'));
	assert_ptr_equal(k_strrchr(s, 'o'), s + 7);
	assert_ptr_equal(k_strrchr(s, '\0'), s + 11);
	assert_null(k_strrchr(s, 'z'));
	assert_ptr_equal(k_strstr(s, "world"), s + 6);
	assert_ptr_equal(k_strstr(s, ""), s);
	assert_null(k_strstr(s, "worlds"));
	assert_null(k_strstr("", "a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_basic),
		cmocka_unit_test(test_fmt_signed),
		cmocka_unit_test(test_fmt_unsigned),
		cmocka_unit_test(test_fmt_pointer_and_null),
		cmocka_unit_test(test_fmt_edge),
		cmocka_unit_test(test_kstrtou64),
		cmocka_unit_test(test_kstrto_signed_and_small),
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_kmem),
		cmocka_unit_test(test_kstr),
	};
	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}

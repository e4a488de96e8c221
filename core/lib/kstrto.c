/*
 * The string helpers libc does not have: number parsing for the command line
 * and the console (kstrto*), kstrcasecmp, and strlcpy (absent from glibc
 * before 2.38).  Built for the kernel and the host alike, so the host tests
 * exercise the very code the kernel runs.
 */
#include <vigil/string.h>

#if !defined(VIGIL_HOST) || !defined(VIGIL_LIBC_HAS_STRLCPY)
size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
#endif

int kstrcasecmp(const char *a, const char *b)
{
	int x, y;

	do {
		x = ktolower((unsigned char)*a++);
		y = ktolower((unsigned char)*b++);
	} while (x && x == y);
	return (x > y) - (x < y);
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

int kstrtou64(const char *s, int base, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || base < 0 || base == 1 || base > 36)
		return -1;
	if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	} else if (base == 0) {
		base = 10;
	}
	if (!*s)
		return -1; /* empty, or a bare "0x" */
	for (; *s; s++) {
		int d = digit_value(*s);
		if (d >= base)
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1; /* v * base + d would overflow */
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return 0;
}

int kstrtos64(const char *s, int base, int64_t *out)
{
	bool neg = false;
	uint64_t v;

	if (!s)
		return -1;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (kstrtou64(s, base, &v))
		return -1;
	if (neg) {
		/* -(INT64_MIN) is not representable: compare magnitudes in unsigned. */
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}

int kstrtouint(const char *s, int base, unsigned int *out)
{
	uint64_t v;

	if (kstrtou64(s, base, &v) || v > UINT32_MAX)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

int kstrtoint(const char *s, int base, int *out)
{
	int64_t v;

	if (kstrtos64(s, base, &v) || v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

int kstrtobool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "y", "yes", "on", "true" };
	static const char *const no[] = { "0", "n", "no", "off", "false" };

	if (!s)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!kstrcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!kstrcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

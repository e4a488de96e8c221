/*
 * vsnprintf/snprintf for the kernel: the C99 integer, character and string
 * conversions with their flags, width and precision, and nothing that needs
 * floating point (the kernel is built without SSE).
 *
 * Differences from C99, on purpose:
 *  - %p always prints "0x" and 16 hex digits (NULL too), so addresses line up
 *    in logs and are easy to grep.
 *  - %s with a NULL pointer prints "(null)" (precision still applies).
 *  - %f/%e/%g/%a and %n are not supported; an unknown conversion is copied
 *    to the output verbatim so the mistake is visible in the log.
 *
 * On the host this file builds as vigil_vsnprintf/vigil_snprintf so the unit
 * test can compare it against the host libc in one program.
 */
#include <vigil/string.h>

#ifdef VIGIL_HOST
#define vsnprintf vigil_vsnprintf
#define snprintf vigil_snprintf
#endif

/* Output sink: counts everything, stores what fits and keeps the last byte
 * of the buffer for the terminating NUL. */
struct sink {
	char *buf;
	size_t size;
	size_t pos;
};

static void put(struct sink *o, char c)
{
	if (o->pos + 1 < o->size)
		o->buf[o->pos] = c;
	o->pos++;
}

static void put_n(struct sink *o, char c, long n)
{
	while (n-- > 0)
		put(o, c);
}

#define F_LEFT  0x01 /* '-' */
#define F_ZERO  0x02 /* '0' */
#define F_PLUS  0x04 /* '+' */
#define F_SPACE 0x08 /* ' ' */
#define F_ALT   0x10 /* '#' */

struct spec {
	unsigned flags;
	long width;     /* 0 when absent */
	long prec;      /* -1 when absent */
};

/* Pads a field of len characters out to the width, on the side the '-' flag
 * picks, with the characters in between produced by the caller. */
static void pad_left(struct sink *o, const struct spec *sp, long len)
{
	if (!(sp->flags & F_LEFT))
		put_n(o, ' ', sp->width - len);
}

static void pad_right(struct sink *o, const struct spec *sp, long len)
{
	if (sp->flags & F_LEFT)
		put_n(o, ' ', sp->width - len);
}

static void emit_string(struct sink *o, const struct spec *sp, const char *s)
{
	long len = 0;

	if (!s)
		s = "(null)";
	/* Never read past the precision: the argument need not be terminated. */
	while ((sp->prec < 0 || len < sp->prec) && s[len])
		len++;
	pad_left(o, sp, len);
	for (long i = 0; i < len; i++)
		put(o, s[i]);
	pad_right(o, sp, len);
}

static void emit_char(struct sink *o, const struct spec *sp, char c)
{
	pad_left(o, sp, 1);
	put(o, c);
	pad_right(o, sp, 1);
}

/*
 * One integer conversion.  The field is, left to right:
 *   [spaces] [sign] [0x prefix] [zeros] digits [spaces]
 * where the zeros come from the precision (minimum digit count) or, when
 * there is no precision, from the '0' flag filling the width (C11 7.21.6.1).
 */
static void emit_int(struct sink *o, const struct spec *sp, uint64_t mag, bool neg,
		     bool is_signed, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24]; /* 2^64 in octal is 22 digits */
	long nd = 0, zeros, len;
	char sign = 0;
	const char *prefix = "";

	/* "%.0d" of zero prints no digits at all. */
	if (!(mag == 0 && sp->prec == 0)) {
		do {
			tmp[nd++] = digits[mag % base];
			mag /= base;
		} while (mag);
	}

	if (is_signed) {
		if (neg)
			sign = '-';
		else if (sp->flags & F_PLUS)
			sign = '+';
		else if (sp->flags & F_SPACE)
			sign = ' ';
	}

	zeros = sp->prec > nd ? sp->prec - nd : 0;
	if (sp->flags & F_ALT) {
		if (base == 8 && zeros == 0 && (nd == 0 || tmp[nd - 1] != '0'))
			zeros = 1; /* '#' makes octal start with 0 */
		else if (base == 16 && nd > 0 && !(nd == 1 && tmp[0] == '0'))
			prefix = upper ? "0X" : "0x";
	}

	len = (sign ? 1 : 0) + (long)strlen(prefix) + zeros + nd;
	if ((sp->flags & (F_ZERO | F_LEFT)) == F_ZERO && sp->prec < 0 && sp->width > len) {
		zeros += sp->width - len;
		len = sp->width;
	}

	pad_left(o, sp, len);
	if (sign)
		put(o, sign);
	for (const char *p = prefix; *p; p++)
		put(o, *p);
	put_n(o, '0', zeros);
	while (nd)
		put(o, tmp[--nd]);
	pad_right(o, sp, len);
}

enum length { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_J, L_T };

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink o = { .buf = buf, .size = size, .pos = 0 };

	while (*fmt) {
		const char *start = fmt;
		struct spec sp = { .flags = 0, .width = 0, .prec = -1 };
		enum length len = L_NONE;

		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt++;

		for (;; fmt++) {
			if (*fmt == '-')
				sp.flags |= F_LEFT;
			else if (*fmt == '0')
				sp.flags |= F_ZERO;
			else if (*fmt == '+')
				sp.flags |= F_PLUS;
			else if (*fmt == ' ')
				sp.flags |= F_SPACE;
			else if (*fmt == '#')
				sp.flags |= F_ALT;
			else
				break;
		}

		if (*fmt == '*') {
			int w = va_arg(ap, int);
			fmt++;
			/* A negative '*' width means '-' plus its magnitude. */
			if (w < 0) {
				sp.flags |= F_LEFT;
				sp.width = -(long)w;
			} else {
				sp.width = w;
			}
		} else {
			while (kisdigit(*fmt))
				sp.width = sp.width * 10 + (*fmt++ - '0');
		}

		if (*fmt == '.') {
			fmt++;
			if (*fmt == '*') {
				int p = va_arg(ap, int);
				fmt++;
				sp.prec = p < 0 ? -1 : p; /* negative: as if omitted */
			} else {
				sp.prec = 0;
				while (kisdigit(*fmt))
					sp.prec = sp.prec * 10 + (*fmt++ - '0');
			}
		}

		switch (*fmt) {
		case 'h':
			len = fmt[1] == 'h' ? L_HH : L_H;
			fmt += len == L_HH ? 2 : 1;
			break;
		case 'l':
			len = fmt[1] == 'l' ? L_LL : L_L;
			fmt += len == L_LL ? 2 : 1;
			break;
		case 'z': len = L_Z; fmt++; break;
		case 'j': len = L_J; fmt++; break;
		case 't': len = L_T; fmt++; break;
		default: break;
		}

		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v;
			switch (len) {
			case L_HH: v = (signed char)va_arg(ap, int); break;
			case L_H:  v = (short)va_arg(ap, int); break;
			case L_L:  v = va_arg(ap, long); break;
			case L_LL: v = va_arg(ap, long long); break;
			case L_Z:  v = (int64_t)va_arg(ap, size_t); break; /* signed size_t */
			case L_J:  v = va_arg(ap, intmax_t); break;
			case L_T:  v = va_arg(ap, ptrdiff_t); break;
			default:   v = va_arg(ap, int); break;
			}
			/* Negate in unsigned so INT64_MIN does not overflow. */
			uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
			emit_int(&o, &sp, mag, v < 0, true, 10, false);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			uint64_t v;
			switch (len) {
			case L_HH: v = (unsigned char)va_arg(ap, unsigned int); break;
			case L_H:  v = (unsigned short)va_arg(ap, unsigned int); break;
			case L_L:  v = va_arg(ap, unsigned long); break;
			case L_LL: v = va_arg(ap, unsigned long long); break;
			case L_Z:  v = va_arg(ap, size_t); break;
			case L_J:  v = va_arg(ap, uintmax_t); break;
			case L_T:  v = (uint64_t)va_arg(ap, ptrdiff_t); break;
			default:   v = va_arg(ap, unsigned int); break;
			}
			unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
			emit_int(&o, &sp, v, false, false, base, *fmt == 'X');
			break;
		}
		case 'p': {
			struct spec ps = { .flags = (sp.flags & F_LEFT) | F_ALT, .width = sp.width, .prec = 16 };
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			/* Fixed-width: 0x + 16 digits even for 0 (F_ALT alone would
			 * drop the prefix for zero). */
			if (v == 0) {
				emit_string(&o, &sp, "0x0000000000000000");
				break;
			}
			emit_int(&o, &ps, v, false, false, 16, false);
			break;
		}
		case 's':
			emit_string(&o, &sp, va_arg(ap, const char *));
			break;
		case 'c':
			emit_char(&o, &sp, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			/* A lone '%' at the end: print it rather than read past. */
			for (; start < fmt; start++)
				put(&o, *start);
			continue;
		default:
			/* Unknown conversion: copy it out verbatim, argument untouched. */
			for (; start <= fmt; start++)
				put(&o, *start);
			break;
		}
		fmt++;
	}

	if (size)
		buf[o.pos < size ? o.pos : size - 1] = '\0';
	return o.pos > INT32_MAX ? INT32_MAX : (int)o.pos;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

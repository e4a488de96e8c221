/*
 * Kernel command line parser: splits the line into parameters, finds each in
 * the registered table (section "cmdline_params") and converts its value by
 * type.  The rules are in include/vigil/cmdline.h.
 *
 * Every problem becomes one message rather than a silent default, because a
 * mistyped parameter on a lab machine otherwise costs a whole debugging
 * session ("why are all 8 CPUs up?  Oh, maxcpu=2").
 */
#include <stdarg.h>
#include <vigil/cmdline.h>
#include <vigil/string.h>

extern const struct boot_param __start_cmdline_params[];
extern const struct boot_param __stop_cmdline_params[];

/* Longest value quoted back in a message; longer ones end in "...". */
#define SHOW_MAX 40

__printf(2, 3) static void add_error(struct cmdline_errors *errs, const char *fmt, ...)
{
	va_list ap;

	/* The last slot is kept for the "more not shown" summary. */
	if (errs->count >= CMDLINE_MAX_ERRORS - 1) {
		errs->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(errs->msg[errs->count], CMDLINE_ERROR_LEN, fmt, ap);
	va_end(ap);
	errs->count++;
}

/* s, cut to SHOW_MAX characters, for quoting in a message. */
static const char *show(const char *s, char *buf, size_t size)
{
	if (strlen(s) <= SHOW_MAX || size < SHOW_MAX + 4)
		return s;
	memcpy(buf, s, SHOW_MAX);
	strlcpy(buf + SHOW_MAX, "...", size - SHOW_MAX);
	return buf;
}

const struct boot_param *boot_param_find(const char *name)
{
	for (const struct boot_param *p = __start_cmdline_params; p < __stop_cmdline_params; p++) {
		if (!strcmp(p->name, name))
			return p;
	}
	return NULL;
}

/* What a good value for p looks like ("1..512", "on|off", ...). */
static const char *expectation(const struct boot_param *p, char *buf, size_t size)
{
	switch (p->type) {
	case BOOT_PARAM_T_FLAG:
		snprintf(buf, size, "no value: just '%s'", p->name);
		return buf;
	case BOOT_PARAM_T_BOOL:
		return "on|off";
	case BOOT_PARAM_T_UINT:
		snprintf(buf, size, "%llu..%llu", (unsigned long long)p->min,
			 (unsigned long long)p->max);
		return buf;
	case BOOT_PARAM_T_CHOICE:
		return p->choices;
	default:
		return p->expect ? p->expect : "a value";
	}
}

/* Is word one of the '|'-separated choices? */
static bool is_choice(const char *choices, const char *word)
{
	size_t wlen = strlen(word);

	for (const char *c = choices; *c;) {
		const char *bar = strchr(c, '|');
		size_t clen = bar ? (size_t)(bar - c) : strlen(c);

		if (clen == wlen && !strncmp(c, word, wlen))
			return true;
		if (!bar)
			break;
		c = bar + 1;
	}
	return false;
}

static bool all_printable(const char *s)
{
	for (; *s; s++) {
		if (!kisprint((unsigned char)*s))
			return false;
	}
	return true;
}

enum apply_result { APPLY_OK, APPLY_BAD, APPLY_TOO_LONG, APPLY_INTERNAL };

/* Convert value and store it in p's field; the field is untouched on failure. */
static enum apply_result apply(const struct boot_param *p, const char *value, void *field)
{
	uint64_t v;
	bool b;

	switch (p->type) {
	case BOOT_PARAM_T_FLAG:
		if (value || p->size != sizeof(bool))
			return value ? APPLY_BAD : APPLY_INTERNAL;
		*(bool *)field = true;
		return APPLY_OK;
	case BOOT_PARAM_T_BOOL:
		if (p->size != sizeof(bool))
			return APPLY_INTERNAL;
		/* Exactly the two documented words: "lockdep=1" is more likely a
		 * guess than a decision, and a message is cheap. */
		if (!strcmp(value, "on"))
			b = true;
		else if (!strcmp(value, "off"))
			b = false;
		else
			return APPLY_BAD;
		*(bool *)field = b;
		return APPLY_OK;
	case BOOT_PARAM_T_UINT:
		if (kstrtou64(value, 0, &v) || v < p->min || v > p->max)
			return APPLY_BAD;
		if (p->size == sizeof(uint32_t) && p->max <= UINT32_MAX)
			*(uint32_t *)field = (uint32_t)v;
		else if (p->size == sizeof(uint64_t))
			*(uint64_t *)field = v;
		else
			return APPLY_INTERNAL;
		return APPLY_OK;
	case BOOT_PARAM_T_CHOICE:
		if (!is_choice(p->choices, value))
			return APPLY_BAD;
		if (strlen(value) >= p->size)
			return APPLY_INTERNAL;
		strlcpy(field, value, p->size);
		return APPLY_OK;
	case BOOT_PARAM_T_STRING:
		if (!*value || !all_printable(value) || (p->check && p->check(value)))
			return APPLY_BAD;
		if (strlen(value) >= p->size)
			return APPLY_TOO_LONG;
		strlcpy(field, value, p->size);
		return APPLY_OK;
	case BOOT_PARAM_T_CUSTOM:
		if (!p->parse)
			return APPLY_INTERNAL;
		return p->parse(value, field) ? APPLY_BAD : APPLY_OK;
	default:
		return APPLY_INTERNAL;
	}
}

/* One "key", "key=value" or "key=" token, quotes already removed. */
static void parse_param(char *tok, struct boot_params *bp, struct cmdline_errors *errs)
{
	char *eq = strchr(tok, '=');
	const char *value = NULL;
	const struct boot_param *p;
	char sbuf[SHOW_MAX + 4], ebuf[48];

	if (eq) {
		*eq = '\0';
		value = eq + 1;
	}
	p = *tok ? boot_param_find(tok) : NULL;
	if (!p) {
		/* Name the key alone (the value is not the problem), unless
		 * there is no key at all: "=x". */
		if (!*tok && eq)
			*eq = '=';
		add_error(errs, "cmdline: unknown parameter '%s' (ignored)",
			  show(tok, sbuf, sizeof(sbuf)));
		return;
	}
	if (!value && p->type != BOOT_PARAM_T_FLAG) {
		add_error(errs, "cmdline: missing value for %s= (expected %s)", p->name,
			  expectation(p, ebuf, sizeof(ebuf)));
		return;
	}
	switch (apply(p, value, (char *)bp + p->offset)) {
	case APPLY_OK:
		break;
	case APPLY_BAD:
		add_error(errs, "cmdline: bad value '%s' for %s= (expected %s)",
			  show(value, sbuf, sizeof(sbuf)), p->name,
			  expectation(p, ebuf, sizeof(ebuf)));
		break;
	case APPLY_TOO_LONG:
		add_error(errs, "cmdline: value too long for %s= (max %u bytes)", p->name,
			  (unsigned int)p->size - 1);
		break;
	case APPLY_INTERNAL:
		add_error(errs, "cmdline: %s= is registered wrongly (type %u, size %u; ignored)",
			  p->name, (unsigned int)p->type, (unsigned int)p->size);
		break;
	}
}

void cmdline_parse(const char *line, struct boot_params *bp, struct cmdline_errors *errs)
{
	char tok[BOOT_CMDLINE_MAX];
	char sbuf[SHOW_MAX + 4];
	const char *p = line ? line : "";

	errs->count = 0;
	errs->dropped = 0;
	for (;;) {
		size_t len = 0;
		bool quoted = false, too_long = false;

		while (kisspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		/* A token runs to the next blank outside quotes.  A '"' anywhere
		 * toggles quoting and is dropped, so key="a b" and "key=a b" mean
		 * the same. */
		for (; *p && (quoted || !kisspace((unsigned char)*p)); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (len < sizeof(tok) - 1)
				tok[len++] = *p;
			else
				too_long = true;
		}
		tok[len] = '\0';
		if (quoted) {
			add_error(errs, "cmdline: unterminated quote in '%s' (ignored)",
				  show(tok, sbuf, sizeof(sbuf)));
			continue;
		}
		if (too_long) {
			add_error(errs, "cmdline: parameter too long '%s' (ignored)",
				  show(tok, sbuf, sizeof(sbuf)));
			continue;
		}
		parse_param(tok, bp, errs);
	}
	if (errs->dropped) {
		snprintf(errs->msg[errs->count], CMDLINE_ERROR_LEN,
			 "cmdline: %u more problems not shown", errs->dropped);
		errs->count++;
	}
}

void cmdline_errors_report(const struct cmdline_errors *errs, void (*emit)(const char *line, void *arg),
			   void *arg)
{
	for (unsigned i = 0; i < errs->count; i++)
		emit(errs->msg[i], arg);
}

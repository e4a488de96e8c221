/*
 * Argument parsing shared by console commands.  The protocol promises that
 * bad arguments get an error naming the argument and what was expected; doing
 * it here, once, keeps every command's messages alike:
 *
 *     error: bad value 'x' for cpu= (expected a number)
 *     error: bad value '99' for <n> (expected 0..3)
 *     error: unknown option 'foo=1' (expected cpu=, exits=)
 */
#include <vigil/cpu.h>
#include <vigil/shell.h>
#include <vigil/string.h>

/* Values are echoed in messages; keep the status line readable. */
#define SHOW "%.40s"

int shell_arg_u64(struct shell_ctx *ctx, const char *s, const char *what, uint64_t *out)
{
	/* base 0: decimal, or hex with 0x; a leading 0 is not octal. */
	if (kstrtou64(s, 0, out))
		return shell_error(ctx, "bad value '" SHOW "' for %s (expected a number)", s, what);
	return 0;
}

int shell_arg_u64_range(struct shell_ctx *ctx, const char *s, const char *what,
			uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (kstrtou64(s, 0, &v) || v < min || v > max)
		return shell_error(ctx, "bad value '" SHOW "' for %s (expected %llu..%llu)", s, what,
				   (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int shell_arg_cpu(struct shell_ctx *ctx, const char *s, const char *what, uint64_t *out)
{
	/* An explicit range, never "max 0 = no limit": on a 1-CPU machine the
	 * only CPU number is 0. */
	uint64_t last = nr_possible_cpus ? nr_possible_cpus - 1 : 0;
	return shell_arg_u64_range(ctx, s, what, 0, last, out);
}

/* "cpu=, exits=" - the keys an option table accepts, for messages. */
static void list_keys(char *buf, size_t size, const struct shell_opt *opts, size_t nopts)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nopts && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%s=", i ? ", " : "", opts[i].key);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static const struct shell_opt *find_opt(const char *arg, size_t keylen,
					const struct shell_opt *opts, size_t nopts)
{
	for (size_t i = 0; i < nopts; i++) {
		if (strlen(opts[i].key) == keylen && !strncmp(opts[i].key, arg, keylen))
			return &opts[i];
	}
	return NULL;
}

int shell_parse_opts(struct shell_ctx *ctx, int argc, char **argv,
		     const struct shell_opt *opts, size_t nopts)
{
	/* Which options were seen, to catch "cpu=1 cpu=2" (which one did the
	 * user mean?).  Tables are small; a bit mask is enough. */
	uint64_t seen = 0;
	char keys[96];

	list_keys(keys, sizeof(keys), opts, nopts);
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		const struct shell_opt *o;
		char what[40];
		size_t idx;

		if (!eq) {
			if (!nopts)
				return shell_error(ctx, "unexpected argument '" SHOW "'", arg);
			return shell_error(ctx, "unexpected argument '" SHOW "' (expected %s)", arg,
					   keys);
		}
		o = find_opt(arg, (size_t)(eq - arg), opts, nopts);
		if (!o) {
			if (!nopts)
				return shell_error(ctx, "unknown option '" SHOW "'", arg);
			return shell_error(ctx, "unknown option '" SHOW "' (expected %s)", arg, keys);
		}
		idx = (size_t)(o - opts);
		snprintf(what, sizeof(what), "%s=", o->key);
		if (idx < 64 && (seen & (1ULL << idx)))
			return shell_error(ctx, "%s given twice", what);
		if (idx < 64)
			seen |= 1ULL << idx;

		switch (o->type) {
		case SHELL_OPT_U64:
			if (o->max) {
				if (shell_arg_u64_range(ctx, eq + 1, what, o->min, o->max, o->u64))
					return -1;
			} else if (shell_arg_u64(ctx, eq + 1, what, o->u64)) {
				return -1;
			}
			break;
		case SHELL_OPT_CPU:
			if (shell_arg_cpu(ctx, eq + 1, what, o->u64))
				return -1;
			break;
		case SHELL_OPT_STR:
			if (!eq[1])
				return shell_error(ctx, "empty value for %s", what);
			*o->str = eq + 1;
			break;
		}
		if (o->given)
			*o->given = true;
	}
	return 0;
}

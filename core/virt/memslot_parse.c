/*
 * The text form of slot changes, shared by the console (`vm slot ...`,
 * core/virt/vm_slot_cmds.c) and the host tests:
 *
 *   add gpa=<a> size=<s> [ro]     del <slot>        move <slot> gpa=<a>
 *   resize <slot> size=<s>        split <slot> at=<gpa>
 *   merge <slot> <slot>
 *
 * and a transaction: changes separated by ";" (a word of its own, or at
 * the end of a word).  Numbers are decimal or 0x hex.
 */
#include <vigil/memslot.h>
#include <vigil/string.h>

static int bad(char *why, size_t len, const char *fmt, const char *a, const char *b)
{
	return why_fail(why, len, WHY_BAD_CHANGE, fmt, a, b);
}

static int number(const char *s, const char *what, uint64_t *out, char *why, size_t len)
{
	if (kstrtou64(s, 0, out))
		return bad(why, len, "bad value '%s' for %s (expected a number)", s, what);
	return 0;
}

static int slot_id(const char *s, unsigned *out, char *why, size_t len)
{
	uint64_t v;
	int r = number(s, "<slot>", &v, why, len);
	if (r)
		return r;
	if (v >= MEMSLOT_MAX)
		return why_fail(why, len, WHY_NO_SLOT, "no slot %s (slot ids are 0..%u)", s, MEMSLOT_MAX - 1);
	*out = (unsigned)v;
	return 0;
}

/* key=<number>: 1 when word is that key (*out set), 0 when it is not, or
 * -cause on a bad number. */
static int keyed(const char *word, const char *key, uint64_t *out, char *why, size_t len)
{
	size_t k = strlen(key);
	if (strncmp(word, key, k) || word[k] != '=')
		return 0;
	char what[16];
	snprintf(what, sizeof(what), "%s=", key);
	int r = number(word + k + 1, what, out, why, len);
	return r ? r : 1;
}

struct form {
	const char *name;
	enum memslot_op op;
	unsigned slots;        /* positional slot ids */
	const char *key;       /* the one key=<number>, or NULL */
	bool ro_ok;            /* accepts the word "ro" */
	const char *key2;      /* a second key (add: size) */
};

static const struct form forms[] = {
	{ "add", MEMSLOT_ADD, 0, "gpa", true, "size" },
	{ "del", MEMSLOT_DEL, 1, NULL, false, NULL },
	{ "move", MEMSLOT_MOVE, 1, "gpa", false, NULL },
	{ "resize", MEMSLOT_RESIZE, 1, "size", false, NULL },
	{ "split", MEMSLOT_SPLIT, 1, "at", false, NULL },
	{ "merge", MEMSLOT_MERGE, 2, NULL, false, NULL },
};

static const char usage[] = "expected add gpa=<a> size=<s> [ro], del <slot>, move <slot> gpa=<a>, "
			    "resize <slot> size=<s>, split <slot> at=<gpa> or merge <slot> <slot>";

int memslot_parse_change(int argc, char **argv, struct memslot_change *c, char *why, size_t len)
{
	if (argc < 1)
		return why_fail(why, len, WHY_BAD_CHANGE, "empty change (%s)", usage);
	const struct form *f = NULL;
	for (unsigned i = 0; i < ARRAY_SIZE(forms); i++)
		if (!strcmp(argv[0], forms[i].name))
			f = &forms[i];
	if (!f)
		return why_fail(why, len, WHY_BAD_CHANGE, "unknown change '%s' (%s)", argv[0], usage);
	memset(c, 0, sizeof(*c));
	c->op = f->op;
	int need = 1 + (int)f->slots + (f->key ? 1 : 0) + (f->key2 ? 1 : 0);
	if (argc < need || argc > need + (f->ro_ok ? 1 : 0))
		return why_fail(why, len, WHY_BAD_CHANGE, "usage of %s: %s", f->name, usage);
	int a = 1, r;
	if (f->slots >= 1 && (r = slot_id(argv[a++], &c->slot, why, len)))
		return r;
	if (f->slots >= 2 && (r = slot_id(argv[a++], &c->slot2, why, len)))
		return r;
	bool have1 = !f->key, have2 = !f->key2;
	for (; a < argc; a++) {
		uint64_t v;
		if (f->key && !have1 && (r = keyed(argv[a], f->key, &v, why, len))) {
			if (r < 0)
				return r;
			have1 = true;
			if (c->op == MEMSLOT_RESIZE)
				c->size = v;
			else
				c->gpa = v;
			continue;
		}
		if (f->key2 && !have2 && (r = keyed(argv[a], f->key2, &v, why, len))) {
			if (r < 0)
				return r;
			have2 = true;
			c->size = v;
			continue;
		}
		if (f->ro_ok && !strcmp(argv[a], "ro") && !(c->flags & MEMSLOT_RO)) {
			c->flags |= MEMSLOT_RO;
			continue;
		}
		return bad(why, len, "unexpected '%s' in %s", argv[a], f->name);
	}
	if (!have1 || !have2)
		return why_fail(why, len, WHY_BAD_CHANGE, "usage of %s: %s", f->name, usage);
	return 0;
}

int memslot_parse_txn(int argc, char **argv, struct memslot_txn *txn, char *why, size_t len)
{
	txn->n = 0;
	int start = 0;
	for (int i = 0; i <= argc; i++) {
		bool end = i == argc;
		bool sep_word = !end && !strcmp(argv[i], ";");
		size_t l = end || sep_word ? 0 : strlen(argv[i]);
		bool sep_after = l > 0 && argv[i][l - 1] == ';';
		if (sep_after)
			argv[i][l - 1] = 0;  /* "size=0x1000;" -> "size=0x1000" then a separator */
		if (!end && !sep_word && !sep_after)
			continue;
		int stop = sep_after ? i + 1 : i;
		if (stop > start) {
			if (txn->n >= MEMSLOT_TXN_MAX)
				return why_fail(why, len, WHY_BAD_CHANGE, "too many changes in one transaction (at most %u)",
						MEMSLOT_TXN_MAX);
			char inner[WHY_MAX];
			int r = memslot_parse_change(stop - start, argv + start, &txn->c[txn->n], inner, sizeof(inner));
			if (r)
				return why_fail(why, len, why_cause(r), "change %u: %s", txn->n + 1, inner);
			txn->n++;
		} else if (!end) {
			return why_fail(why, len, WHY_BAD_CHANGE, "empty change before ';'");
		}
		start = i + 1;
	}
	if (txn->n == 0)
		return why_fail(why, len, WHY_BAD_CHANGE, "empty transaction (%s)", usage);
	return 0;
}

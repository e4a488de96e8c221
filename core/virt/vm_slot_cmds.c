/*
 * Console: `vm slot ...` changes and lists a VM's memory slots, `vm mem ...`
 * reads and writes guest-physical memory through them (so a test can show
 * that split, merge, resize and move keep the guest's data).  Both are
 * sub-commands of `vm` (virt_cmds.c).  docs/console.md lists the replies.
 */
#include <vigil/arch.h>
#include <vigil/memslot.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include "virt_internal.h"

static int vm_id_arg(struct shell_ctx *ctx, const char *s, unsigned *id)
{
	uint64_t v;
	if (shell_arg_u64_range(ctx, s, "<vm>", 1, UINT32_MAX, &v))
		return -1;
	*id = (unsigned)v;
	return 0;
}

static void print_slot(struct shell_ctx *ctx, const struct memslot *s)
{
	shell_printf(ctx, "slot=%u gpa=0x%lx size=0x%lx flags=%s\n", s->id, (unsigned long)s->gpa,
		     (unsigned long)s->size, (s->flags & MEMSLOT_RO) ? "ro" : "rw");
}

static void list_one(const struct memslot *s, void *arg)
{
	print_slot(arg, s);
}

struct added {
	struct shell_ctx *ctx;
	const struct memslot_txn_result *res;
};

static void list_added(const struct memslot *s, void *arg)
{
	const struct added *a = arg;
	if (a->res->added_ids[s->id / 64] & (1ull << (s->id % 64)))
		print_slot(a->ctx, s);
}

/* Apply txn to VM id and reply with the slots it added or changed. */
static int update(struct shell_ctx *ctx, unsigned id, const struct memslot_txn *txn)
{
	char why[WHY_MAX];
	struct memslot_txn_result res;
	if (vm_slot_update(id, txn, &res, why, sizeof(why)))
		return shell_error(ctx, "%s", why);
	struct added a = { ctx, &res };
	vm_slot_for_each(id, list_added, &a, why, sizeof(why));
	return 0;
}

static void sort_u64(uint64_t *a, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && a[j - 1] > a[j]; j--) {
			uint64_t t = a[j];
			a[j] = a[j - 1];
			a[j - 1] = t;
		}
}

/* A churn in a task of its own (bg=1), so that the console can take CPUs
 * offline or suspend while updates are in progress; `vm slot churnwait`
 * joins it.  One at a time (the console is single-threaded). */
static struct {
	struct task *task;
	unsigned vm, slot, rounds;
	int move;
	int r;
	char why[WHY_MAX];
	struct vm_slot_churn_stats st;
} bg;

static void bg_churn(void *arg)
{
	(void)arg;
	bg.r = vm_slot_churn(bg.vm, bg.slot, bg.rounds, bg.move, &bg.st, bg.why, sizeof(bg.why));
}

static int churn_reply(struct shell_ctx *ctx, unsigned id, struct vm_slot_churn_stats *st)
{
	unsigned n = st->splits < VM_SLOT_CHURN_SAMPLES ? (unsigned)st->splits : VM_SLOT_CHURN_SAMPLES;
	sort_u64(st->split_ns, n);
	shell_printf(ctx, "vm=%u op=churn updates=%lu split_median_ns=%lu split_max_ns=%lu\n", id,
		     (unsigned long)st->updates, (unsigned long)(n ? st->split_ns[n / 2] : 0),
		     (unsigned long)(n ? st->split_ns[n - 1] : 0));
	return 0;
}

/* vm slot churnwait <vm>: wait for the background churn, reply as churn. */
static int churnwait_cmd(struct shell_ctx *ctx, unsigned id)
{
	if (!bg.task || bg.vm != id)
		return shell_error(ctx, "no background churn on VM %u (start one with 'vm slot churn %u <slot> bg=1')",
				   id, id);
	kthread_join(bg.task);
	bg.task = NULL;
	if (bg.r)
		return shell_error(ctx, "%s (after %lu updates)", bg.why, (unsigned long)bg.st.updates);
	return churn_reply(ctx, id, &bg.st);
}

/* vm slot churn <vm> <slot> [rounds=<n>] [move=<slot>] [bg=1]: the in-kernel
 * stream of in-place changes (vm_slot_churn.c); replies with the updates
 * made and the split latency (median and max of the first splits). */
static int churn_cmd(struct shell_ctx *ctx, unsigned id, int argc, char **argv)
{
	char why[WHY_MAX];
	if (argc < 1)
		return shell_error(ctx, "usage: vm slot churn <vm> <slot> [rounds=<n>] [move=<slot>]");
	uint64_t slot, rounds = 100, move = 0, background = 0;
	bool move_given = false;
	if (shell_arg_u64_range(ctx, argv[0], "<slot>", 0, MEMSLOT_MAX - 1, &slot))
		return -1;
	const struct shell_opt opts[] = {
		SHELL_OPT_RANGE("rounds", 1, 100000, &rounds),
		{ .key = "move", .type = SHELL_OPT_U64, .max = MEMSLOT_MAX - 1, .u64 = &move, .given = &move_given },
		SHELL_OPT_RANGE("bg", 0, 1, &background),
	};
	if (shell_parse_opts(ctx, argc - 1, argv + 1, opts, ARRAY_SIZE(opts)))
		return -1;
	if (background) {
		if (bg.task)
			return shell_error(ctx, "a background churn is already running on VM %u ('vm slot churnwait %u')",
					   bg.vm, bg.vm);
		bg.vm = id;
		bg.slot = (unsigned)slot;
		bg.rounds = (unsigned)rounds;
		bg.move = move_given ? (int)move : -1;
		bg.r = 0;
		bg.task = kthread_run(bg_churn, NULL, TASK_ANY_CPU, "slotchurn");
		if (!bg.task)
			return shell_error(ctx, "out of memory for the churn task");
		shell_printf(ctx, "vm=%u op=churn started=1\n", id);
		return 0;
	}
	static struct vm_slot_churn_stats st; /* the console is single-threaded */
	if (vm_slot_churn(id, (unsigned)slot, (unsigned)rounds, move_given ? (int)move : -1, &st, why, sizeof(why)))
		return shell_error(ctx, "%s (after %lu updates)", why, (unsigned long)st.updates);
	return churn_reply(ctx, id, &st);
}

int vm_slot_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	/* argv: slot <what> <vm> [...] */
	static const char usage[] = "vm slot add|del|move|resize|split|merge|list|txn|stat|churn|churnwait <vm> ...";
	if (argc < 3)
		return shell_error(ctx, "usage: %s", usage);
	const char *what = argv[1];
	static const char *const subs[] = { "add", "del", "move", "resize", "split", "merge", "txn", "list", "stat", "churn", "churnwait" };
	bool known = false;
	for (unsigned i = 0; i < ARRAY_SIZE(subs); i++)
		known |= !strcmp(what, subs[i]);
	if (!known)
		return shell_error(ctx, "unknown vm slot subcommand '%s' (expected add, del, move, resize, split, merge, "
				   "txn, list, stat, churn or churnwait)", what);
	unsigned id;
	if (vm_id_arg(ctx, argv[2], &id))
		return -1;
	char why[WHY_MAX];
	if (!strcmp(what, "list") || !strcmp(what, "stat")) {
		if (argc != 3)
			return shell_error(ctx, "usage: vm slot %s <vm>", what);
		if (!strcmp(what, "list")) {
			if (vm_slot_for_each(id, list_one, ctx, why, sizeof(why)))
				return shell_error(ctx, "%s", why);
			return 0;
		}
		uint64_t updates, inhibited;
		bool naive;
		if (vm_slot_stats(id, &updates, &inhibited, &naive, why, sizeof(why)))
			return shell_error(ctx, "%s", why);
		uint64_t blocked = 0, blocked_ns = 0;
		if (vm_slot_gate_stats(id, &blocked, &blocked_ns, why, sizeof(why)))
			return shell_error(ctx, "%s", why);
		shell_printf(ctx, "vm=%u updates=%lu inhibited=%lu mode=%s blocked_entries=%lu blocked_us=%lu\n", id,
			     (unsigned long)updates, (unsigned long)inhibited, naive ? "naive" : "atomic",
			     (unsigned long)blocked, (unsigned long)(blocked_ns / 1000));
		return 0;
	}
	if (!strcmp(what, "churn"))
		return churn_cmd(ctx, id, argc - 3, argv + 3);
	if (!strcmp(what, "churnwait"))
		return argc == 3 ? churnwait_cmd(ctx, id) : shell_error(ctx, "usage: vm slot churnwait <vm>");
	struct memslot_txn txn;
	if (!strcmp(what, "txn")) {
		if (memslot_parse_txn(argc - 3, argv + 3, &txn, why, sizeof(why)))
			return shell_error(ctx, "%s", why);
		return update(ctx, id, &txn);
	}
	/* One change: its words are <what> followed by what comes after <vm>. */
	char *words[SHELL_MAX_ARGS];
	int n = 0;
	words[n++] = argv[1];
	for (int i = 3; i < argc && n < SHELL_MAX_ARGS; i++)
		words[n++] = argv[i];
	txn.n = 1;
	if (memslot_parse_change(n, words, &txn.c[0], why, sizeof(why)))
		return shell_error(ctx, "%s", why);
	return update(ctx, id, &txn);
}

/* The word at offset off of a fill pattern: distinct per seed and offset,
 * so a page that moved, went missing or was zeroed is seen. */
static uint64_t pattern(uint64_t seed, uint64_t off)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull ^ (off + 1) * 0xBF58476D1CE4E5B9ull;
	x ^= x >> 31;
	return x * 0x94D049BB133111EBull;
}

static int mem_range(struct shell_ctx *ctx, unsigned id, int argc, char **argv, bool fill)
{
	uint64_t gpa = 0, size = 0, seed = 1;
	bool have_gpa = false, have_size = false;
	const struct shell_opt opts[] = {
		{ .key = "gpa", .type = SHELL_OPT_U64, .u64 = &gpa, .given = &have_gpa },
		{ .key = "size", .type = SHELL_OPT_U64, .u64 = &size, .given = &have_size },
		SHELL_OPT_NUM("seed", &seed),
	};
	if (shell_parse_opts(ctx, argc, argv, opts, ARRAY_SIZE(opts)))
		return -1;
	if (!have_gpa || !have_size || (gpa | size) & 7 || !size)
		return shell_error(ctx, "usage: vm mem %s <vm> gpa=<a> size=<s> [seed=<k>] (gpa and size multiples of 8)",
				   fill ? "fill" : "check");
	char why[WHY_MAX];
	uint64_t words = 0, bad = 0, first_bad = 0;
	static uint64_t buf[PAGE_SIZE / 8]; /* the console is single-threaded */
	/* A fill that would stop part way changes nothing: every byte of the
	 * range must be in a slot before the first one is written. */
	for (uint64_t off = 0; fill && off < size;) {
		uint64_t n = MIN(size - off, sizeof(buf));
		if (vm_mem_access(id, gpa + off, buf, n, false, why, sizeof(why)))
			return shell_error(ctx, "%s", why);
		off += n;
	}
	for (uint64_t off = 0; off < size;) {
		uint64_t n = MIN(size - off, sizeof(buf));
		if (fill) {
			for (uint64_t i = 0; i < n / 8; i++)
				buf[i] = pattern(seed, off + i * 8);
			if (vm_mem_access(id, gpa + off, buf, n, true, why, sizeof(why)))
				return shell_error(ctx, "%s", why);
		} else {
			if (vm_mem_access(id, gpa + off, buf, n, false, why, sizeof(why)))
				return shell_error(ctx, "%s", why);
			for (uint64_t i = 0; i < n / 8; i++)
				if (buf[i] != pattern(seed, off + i * 8) && !bad++)
					first_bad = gpa + off + i * 8;
		}
		words += n / 8;
		off += n;
	}
	if (fill)
		shell_printf(ctx, "gpa=0x%lx size=0x%lx words=%lu\n", (unsigned long)gpa, (unsigned long)size,
			     (unsigned long)words);
	else if (bad)
		shell_printf(ctx, "gpa=0x%lx size=0x%lx words=%lu bad=%lu first_bad=0x%lx\n", (unsigned long)gpa,
			     (unsigned long)size, (unsigned long)words, (unsigned long)bad, (unsigned long)first_bad);
	else
		shell_printf(ctx, "gpa=0x%lx size=0x%lx words=%lu bad=0 first_bad=none\n", (unsigned long)gpa,
			     (unsigned long)size, (unsigned long)words);
	return 0;
}

/* `vm mem migrate|reclaim <vm> gpa=<a> size=<s> [nest_gpa=<a> nest_size=<s>]`:
 * host invalidation of a range (docs/invalidation.md). */
static int mem_invalidate(struct shell_ctx *ctx, unsigned id, int argc, char **argv, bool migrate)
{
	struct vm_mem_inval_req req = { .migrate = migrate };
	bool have_gpa = false, have_size = false, have_ngpa = false, have_nsize = false;
	const struct shell_opt opts[] = {
		{ .key = "gpa", .type = SHELL_OPT_U64, .u64 = &req.gpa, .given = &have_gpa },
		{ .key = "size", .type = SHELL_OPT_U64, .u64 = &req.size, .given = &have_size },
		{ .key = "nest_gpa", .type = SHELL_OPT_U64, .u64 = &req.nest_gpa, .given = &have_ngpa },
		{ .key = "nest_size", .type = SHELL_OPT_U64, .u64 = &req.nest_size, .given = &have_nsize },
	};
	const char *what = migrate ? "migrate" : "reclaim";
	if (shell_parse_opts(ctx, argc, argv, opts, 4))
		return -1;
	if (!have_gpa || !have_size || have_ngpa != have_nsize)
		return shell_error(ctx, "usage: vm mem %s <vm> gpa=<a> size=<s> [nest_gpa=<a> nest_size=<s>] "
				   "(page multiples)", what);
	if (have_nsize && !req.nest_size)
		return shell_error(ctx, "nest_size=0: nothing to nest");
	char why[WHY_MAX];
	struct vm_mem_inval_res res;
	uint64_t t0 = arch_time_ns();
	if (vm_mem_invalidate(id, &req, &res, why, sizeof(why)))
		return shell_error(ctx, "%s", why);
	/* ns: the whole bracket (start, flush, copy, end), a figure for the
	 * scenarios' benches. */
	shell_printf(ctx, "op=%s gpa=0x%lx size=0x%lx pages=%lu kept=%lu absent=%lu nested_pages=%lu ns=%lu\n", what,
		     (unsigned long)req.gpa, (unsigned long)req.size, (unsigned long)res.pages,
		     (unsigned long)res.kept, (unsigned long)res.absent, (unsigned long)res.nested_pages,
		     (unsigned long)(arch_time_ns() - t0));
	return 0;
}

int vm_mem_cmd(struct shell_ctx *ctx, int argc, char **argv)
{
	/* argv: mem <what> <vm> [...] */
	if (argc < 3)
		return shell_error(ctx, "usage: vm mem read|write|fill|check|migrate|reclaim|churn|churnstop <vm> ...");
	const char *what = argv[1];
	unsigned id;
	if (vm_id_arg(ctx, argv[2], &id))
		return -1;
	char why[WHY_MAX];
	if (!strcmp(what, "fill") || !strcmp(what, "check"))
		return mem_range(ctx, id, argc - 3, argv + 3, !strcmp(what, "fill"));
	if (!strcmp(what, "churn") || !strcmp(what, "churnstop"))
		return vm_mem_churn_cmd(ctx, id, !strcmp(what, "churn"), argc - 3, argv + 3);
	if (!strcmp(what, "migrate") || !strcmp(what, "reclaim"))
		return mem_invalidate(ctx, id, argc - 3, argv + 3, !strcmp(what, "migrate"));
	bool write = !strcmp(what, "write");
	if (!write && strcmp(what, "read"))
		return shell_error(ctx, "unknown vm mem subcommand '%s' (expected read, write, fill, check, migrate, reclaim, churn or churnstop)", what);
	uint64_t gpa = 0, val = 0;
	bool have_gpa = false, have_val = false;
	const struct shell_opt opts[] = {
		{ .key = "gpa", .type = SHELL_OPT_U64, .u64 = &gpa, .given = &have_gpa },
		{ .key = "val", .type = SHELL_OPT_U64, .u64 = &val, .given = &have_val },
	};
	if (shell_parse_opts(ctx, argc - 3, argv + 3, opts, write ? 2 : 1))
		return -1;
	if (!have_gpa || (write && !have_val))
		return shell_error(ctx, "usage: vm mem %s <vm> gpa=<a>%s", what, write ? " val=<v>" : "");
	if (vm_mem_access(id, gpa, &val, sizeof(val), write, why, sizeof(why)))
		return shell_error(ctx, "%s", why);
	shell_printf(ctx, "gpa=0x%lx val=0x%lx\n", (unsigned long)gpa, (unsigned long)val);
	return 0;
}

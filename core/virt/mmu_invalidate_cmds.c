/*
 * The `check` invariant of the invalidation protocol and the console
 * command `mmu_inval` (docs/console.md).
 *
 *     mmu_inval
 *     design=count
 *     vm=<name> design=<d> active=<k> in_progress=<k> range=<a>-<b> seq=<k> swap_waiting=<0|1>
 *        swap_wait_ms=<k> starts=<k> swaps=<k> swap_waits=<k> mismatches=<k> faults=<k> retries=<k>
 *        max_retries=<k> swap_wait_us_total=<k> swap_wait_us_max=<k>
 *                                              (one line per registered instance)
 *     ok
 */
#include <vigil/check.h>
#include <vigil/mmu_invalidate.h>
#include <vigil/shell.h>
#include <vigil/string.h>

/* in_progress is never below zero, never above the open invalidations, and
 * zero when none is open: an end that found other slots than its start
 * would break it (and every fault in the range would retry for ever). */
static int memslot_inval_invariant(char *why, size_t len)
{
	return mmu_invalidate_check_all(why, len);
}
INVARIANT(memslot_inval, memslot_inval_invariant);

#define LIST_MAX 16

struct list {
	unsigned n;
	struct { const char *name; enum mmu_inval_mode mode; struct mmu_invalidate_snapshot s; } e[LIST_MAX];
};

/* Under the registry lock: copy, print later. */
static void collect(struct mmu_invalidate *mi, void *arg)
{
	struct list *l = arg;
	if (l->n >= LIST_MAX)
		return;
	l->e[l->n].name = mi->name;
	l->e[l->n].mode = mi->mode;
	mmu_invalidate_snapshot(mi, &l->e[l->n].s);
	l->n++;
}

static int cmd_mmu_inval(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	static struct list l;  /* shell commands run one at a time */

	l.n = 0;
	shell_printf(ctx, "design=%s\n", mmu_inval_mode_name(mmu_invalidate_boot_mode()));
	mmu_invalidate_for_each(collect, &l);
	for (unsigned i = 0; i < l.n; i++) {
		const struct mmu_invalidate_snapshot *s = &l.e[i].s;
		shell_printf(ctx,
			     "vm=%s design=%s active=%ld in_progress=%ld range=%lu-%lu seq=%lu swap_waiting=%d "
			     "swap_wait_ms=%lu starts=%lu swaps=%lu swap_waits=%lu mismatches=%lu faults=%lu "
			     "retries=%lu max_retries=%lu swap_wait_us_total=%lu swap_wait_us_max=%lu\n",
			     l.e[i].name, mmu_inval_mode_name(l.e[i].mode), s->active_invalidations, s->in_progress,
			     (unsigned long)s->range_start, (unsigned long)s->range_end, (unsigned long)s->seq,
			     s->swap_waiting, (unsigned long)(s->swap_waiting_ns / 1000000),
			     (unsigned long)s->st.starts, (unsigned long)s->st.swaps, (unsigned long)s->st.swap_waits,
			     (unsigned long)s->st.mismatches, (unsigned long)s->st.faults,
			     (unsigned long)s->st.retries, (unsigned long)s->st.max_retries,
			     (unsigned long)(s->st.swap_wait_ns_total / 1000), (unsigned long)(s->st.swap_wait_ns_max / 1000));
	}
	return 0;
}
SHELL_CMD(mmu_inval, "mmu_inval", .run = cmd_mmu_inval,
	  .help = "The invalidation design in use (memslot_inval=), then one line per VM's invalidation state.");

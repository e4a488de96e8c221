/*
 * Self-tests of the invalidation protocol (docs/invalidation.md) on real
 * CPUs, through the fake VM of core/virt/mmu_inval_fakevm.c:
 *
 *  memslot_inval_nested_swap      count design: a task starts invalidation
 *                                 1, a swap queues, the same task starts a
 *                                 nested invalidation 2; it gets in at once,
 *                                 and the swap publishes after the outer end.
 *  memslot_inval_rwsem_deadlock   the same interleaving in the old rwsem
 *                                 design: the nested start waits behind the
 *                                 queued swap, which waits for the task.
 *                                 lockdep reports the recursive read (inside
 *                                 an expect window), the hang detector names
 *                                 both stuck tasks, then the swap is aborted
 *                                 and the kernel goes on.
 *  memslot_inval_concurrent       invalidators on several CPUs (nested ones
 *                                 in the count design), a faulter and a
 *                                 swapper checking the invariant after every
 *                                 swap: start and end always saw the same
 *                                 slots, nothing stale stays mapped.
 *                                 Uses the design memslot_inval= selects.
 *                                 Then the broken no-wait swap, once,
 *                                 between a start and its end: the `check`
 *                                 invariant must fail on it.
 *
 * Waits that the protocol should end are bounded (polls with a deadline),
 * so a broken protocol fails a test instead of hanging the kernel.
 */
#include <vigil/arch.h>
#include <vigil/completion.h>
#include <vigil/cpu.h>
#include <vigil/hung_task.h>
#include <vigil/lockdep.h>
#include <vigil/printk.h>
#include <vigil/selftest.h>
#include <vigil/string.h>
#include <vigil/task.h>

#include "mmu_inval_fakevm.h"

#define DEADLINE_NS 5000000000ULL
#define POLL_NS 1000000ULL

static struct fakevm st_vm;

/* Poll cond(arg) every millisecond for up to 5 s. */
static bool wait_until(bool (*cond)(void *arg), void *arg)
{
	uint64_t end = arch_time_ns() + DEADLINE_NS;
	while (!cond(arg)) {
		if (arch_time_ns() > end)
			return false;
		sleep_ns(POLL_NS);
	}
	return true;
}

static bool swap_queued(void *arg)
{
	return mmu_invalidate_swap_waiting(&((struct fakevm *)arg)->mi);
}

static bool rwsem_queued(void *arg)
{
	return rwsem_has_waiters(&((struct fakevm *)arg)->mi.slots_rwsem);
}

static bool done(void *arg)
{
	return completion_done(arg);
}

/* Some other online CPU for a helper task (the test's own CPU if none). */
static int other_cpu(unsigned nth)
{
	unsigned self = smp_processor_id(), seen = 0;
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		if (c == self || !cpu_is_online(c))
			continue;
		if (seen++ == nth)
			return (int)c;
	}
	int any = cpu_other_online(self);
	return any >= 0 ? any : TASK_ANY_CPU;
}

struct swapper {
	struct fakevm *vm;
	int abort;
	int ret;
	struct completion finished;
};

static void swapper_fn(void *arg)
{
	struct swapper *s = arg;
	s->ret = fakevm_swap(s->vm, &s->abort);
	complete(&s->finished);
}

struct nester {
	struct fakevm *vm;
	struct completion started, go_nested, nested_done, go_end;
};

static void nester_fn(void *arg)
{
	struct nester *n = arg;
	struct mmu_inval_range r1, r2;

	fakevm_migrate_begin(n->vm, &r1, 0, 16);
	complete(&n->started);
	wait_for_completion(&n->go_nested);
	fakevm_migrate_begin(n->vm, &r2, 8, 24);
	fakevm_migrate_finish(n->vm, &r2);
	complete(&n->nested_done);
	wait_for_completion(&n->go_end);
	fakevm_migrate_finish(n->vm, &r1);
}

static void nester_init(struct nester *n, struct fakevm *vm)
{
	n->vm = vm;
	init_completion(&n->started);
	init_completion(&n->go_nested);
	init_completion(&n->nested_done);
	init_completion(&n->go_end);
}

/* The interleaving both designs are tried on: a nester task opens
 * invalidation 1 on st_vm, then a swapper task queues a swap behind it
 * (the caller waits for that and releases the nested start).  0, or the
 * selftest failure when a task cannot be made. */
static int start_nester_and_swapper(struct selftest_ctx *ctx, enum mmu_inval_mode mode, const char *name,
				    struct nester *n, struct swapper *s, struct task **tn, struct task **ts)
{
	fakevm_init(&st_vm, mode, name);
	nester_init(n, &st_vm);
	*s = (struct swapper){ .vm = &st_vm };
	init_completion(&s->finished);
	*tn = kthread_run(nester_fn, n, other_cpu(0), "inval_nester");
	ST_ASSERT(ctx, *tn, "out of memory");
	wait_for_completion(&n->started);
	*ts = kthread_run(swapper_fn, s, other_cpu(1), "inval_swapper");
	ST_ASSERT(ctx, *ts, "out of memory");
	return 0;
}

static int st_nested_swap(struct selftest_ctx *ctx)
{
	static struct nester n;
	static struct swapper s;
	char why[128];
	struct task *tn, *ts;

	if (start_nester_and_swapper(ctx, MMU_INVAL_COUNT, "st_nested", &n, &s, &tn, &ts))
		return -1;
	bool queued = wait_until(swap_queued, &st_vm);
	complete(&n.go_nested);
	bool nested = wait_until(done, &n.nested_done);
	bool early = completion_done(&s.finished);
	complete(&n.go_end);
	kthread_join(tn);
	if (!nested) {
		/* Unreachable with a correct protocol; leave no task stuck. */
		s.abort = 1;
		mmu_invalidate_swap_kick(&st_vm.mi);
	}
	kthread_join(ts);
	ST_ASSERT(ctx, queued, "the swap never queued behind invalidation 1");
	ST_ASSERT(ctx, nested, "the nested start waited for the queued swap");
	ST_ASSERT(ctx, !early, "the swap published while invalidation 1 was open");
	ST_ASSERT(ctx, s.ret == 0, "the swap failed");
	ST_ASSERT(ctx, st_vm.mi.st.swaps == 1 && st_vm.mi.st.mismatches == 0,
		  "swaps=%lu mismatches=%lu", (unsigned long)st_vm.mi.st.swaps, (unsigned long)st_vm.mi.st.mismatches);
	ST_ASSERT(ctx, mmu_invalidate_check_one(&st_vm.mi, why, sizeof(why)) == 0, "%s", why);
	st_note(ctx, "nested start completed with a swap queued; swap published after the outer end");
	return 0;
}
SELFTEST(memslot_inval_nested_swap, st_nested_swap);

/* ---- the old design deadlocks ---- */

struct hung_seen {
	struct selftest_ctx *ctx;
	unsigned nester, swapper;
	unsigned nester_id, swapper_id;
	bool nester_said, swapper_said;  /* printed once each */
};

static void hung_note(const struct hung_task_report *r, void *arg)
{
	struct hung_seen *h = arg;
	bool *said;
	if (r->id == h->nester_id) {
		h->nester++;
		said = &h->nester_said;
	} else if (r->id == h->swapper_id) {
		h->swapper++;
		said = &h->swapper_said;
	} else {
		return;
	}
	if (*said)
		return;
	*said = true;
	printk("hungtask: task '%s'/%u blocked for %lu ms on %s (%s)\n", r->name, r->id,
	       (unsigned long)(r->blocked_ns / 1000000), r->what, r->how);
	st_note(h->ctx, "stuck: task '%s'/%u on %s (%s)", r->name, r->id, r->what, r->how);
}

static bool both_hung(void *arg)
{
	struct hung_seen *h = arg;
	h->nester = h->swapper = 0;
	hung_task_scan(100000000ULL, false, hung_note, h);
	return h->nester && h->swapper;
}

static int st_rwsem_deadlock(struct selftest_ctx *ctx)
{
	static struct nester n;
	static struct swapper s;
	char why[128];
	struct task *tn, *ts;

	if (start_nester_and_swapper(ctx, MMU_INVAL_RWSEM, "st_rwsem", &n, &s, &tn, &ts))
		return -1;
	bool queued = wait_until(rwsem_queued, &st_vm);

	lockdep_expect_begin();
	complete(&n.go_nested);
	struct hung_seen h = { .ctx = ctx, .nester_id = task_id(tn), .swapper_id = task_id(ts) };
	bool hung = wait_until(both_hung, &h);
	bool nested_early = completion_done(&n.nested_done);
	/* Recover: the swap gives up, the queue moves, the nested start gets
	 * its read and both invalidations end. */
	__atomic_store_n(&s.abort, 1, __ATOMIC_RELEASE);
	mmu_invalidate_swap_kick(&st_vm.mi);
	bool recovered = wait_until(done, &n.nested_done);
	complete(&n.go_end);
	kthread_join(ts);
	if (recovered)
		kthread_join(tn);
	unsigned reports = lockdep_expect_end();

	ST_ASSERT(ctx, queued, "the swap never queued for the rw-semaphore");
	ST_ASSERT(ctx, recovered, "the nested start stayed stuck after the swap was aborted (task leaked)");
	ST_ASSERT(ctx, !nested_early, "the nested start did not wait: no deadlock to show");
	ST_ASSERT(ctx, reports >= 1, "lockdep did not report the recursive read");
	ST_ASSERT(ctx, hung, "the hang detector did not name both tasks (nester=%u swapper=%u)", h.nester,
		  h.swapper);
	ST_ASSERT(ctx, s.ret == -1 && st_vm.mi.st.swaps == 0, "the swap was not aborted (ret=%d)", s.ret);
	ST_ASSERT(ctx, mmu_invalidate_check_one(&st_vm.mi, why, sizeof(why)) == 0, "%s", why);
	st_note(ctx, "rwsem design deadlocked as expected: lockdep reports=%u, hang detector named both, recovered",
		reports);
	return 0;
}
SELFTEST(memslot_inval_rwsem_deadlock, st_rwsem_deadlock);

/* ---- concurrent ---- */

#define CONC_INVALIDATORS 3
#define CONC_ROUNDS 1500

struct conc {
	struct fakevm *vm;
	int stop;
	bool nest;
	unsigned long swaps, checks_failed, stale;
	char why[128];
};

struct conc_worker {
	struct conc *c;
	uint64_t seed;
};

static void conc_invalidator(void *arg)
{
	struct conc_worker *w = arg;
	for (unsigned i = 0; i < CONC_ROUNDS; i++) {
		uint64_t s, e, ns = 0, ne = 0;
		fakevm_rand_range(&w->seed, 16, &s, &e);
		if (w->c->nest && fakevm_rand(&w->seed) % 4 == 0)
			fakevm_rand_range(&w->seed, 16, &ns, &ne);
		fakevm_migrate(w->c->vm, s, e, ns, ne);
		if (i % 32 == 31)
			sleep_ns(POLL_NS);  /* a gap now and then, or the unfair swap waits to the end */
	}
}

static void conc_faulter(void *arg)
{
	struct conc_worker *w = arg;
	while (!__atomic_load_n(&w->c->stop, __ATOMIC_ACQUIRE)) {
		fakevm_fault(w->c->vm, fakevm_rand(&w->seed) % FAKEVM_GFNS);
		yield();
	}
}

static void conc_swapper(void *arg)
{
	struct conc_worker *w = arg;
	struct conc *c = w->c;
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		if (fakevm_swap(c->vm, &c->stop) == 0)
			c->swaps++;
		if (mmu_invalidate_check_one(&c->vm->mi, c->why, sizeof(c->why)))
			c->checks_failed++;
		c->stale += fakevm_stale(c->vm);
		yield();
	}
}

static int st_concurrent(struct selftest_ctx *ctx)
{
	static struct conc c;
	static struct conc_worker w[CONC_INVALIDATORS + 2];
	struct task *t[CONC_INVALIDATORS + 2];
	enum mmu_inval_mode mode = mmu_invalidate_boot_mode();
	char why[128];
	unsigned n = 0;

	fakevm_init(&st_vm, mode, "st_concurrent");
	mmu_invalidate_register(&st_vm.mi);
	c = (struct conc){ .vm = &st_vm, .nest = mode == MMU_INVAL_COUNT };
	for (; n < CONC_INVALIDATORS; n++) {
		w[n] = (struct conc_worker){ &c, 0x9e3779b97f4a7c15ull * (n + 1) };
		t[n] = kthread_run(conc_invalidator, &w[n], other_cpu(n), "inval_worker");
	}
	w[n] = (struct conc_worker){ &c, 0x2545f4914f6cdd1dull };
	t[n] = kthread_run(conc_faulter, &w[n], other_cpu(n), "inval_faulter");
	n++;
	w[n] = (struct conc_worker){ &c, 1 };
	t[n] = kthread_run(conc_swapper, &w[n], TASK_ANY_CPU, "inval_swapper");
	n++;
	bool oom = false;
	for (unsigned i = 0; i < n; i++)
		oom |= !t[i];
	for (unsigned i = 0; i < CONC_INVALIDATORS; i++)
		if (t[i])
			kthread_join(t[i]);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	mmu_invalidate_swap_kick(&st_vm.mi);
	for (unsigned i = CONC_INVALIDATORS; i < n; i++)
		if (t[i])
			kthread_join(t[i]);
	mmu_invalidate_unregister(&st_vm.mi);

	struct mmu_invalidate_stats *s = &st_vm.mi.st;
	st_note(ctx, "design=%s invalidations=%lu swaps=%lu swap_waits=%lu faults=%lu retries=%lu max_retries=%lu",
		mmu_inval_mode_name(mode), (unsigned long)s->starts, c.swaps, (unsigned long)s->swap_waits,
		(unsigned long)s->faults, (unsigned long)s->retries, (unsigned long)s->max_retries);
	ST_ASSERT(ctx, !oom, "out of memory");
	ST_ASSERT(ctx, c.checks_failed == 0, "invariant failed %lu times: %s", c.checks_failed, c.why);
	ST_ASSERT(ctx, s->mismatches == 0, "%lu ends saw other slots than their start",
		  (unsigned long)s->mismatches);
	ST_ASSERT(ctx, s->underflows == 0, "in_progress went below zero %lu times", (unsigned long)s->underflows);
	ST_ASSERT(ctx, c.stale == 0 && fakevm_stale(&st_vm) == 0, "stale translations seen: %lu", c.stale);
	ST_ASSERT(ctx, s->starts == s->ends, "starts=%lu ends=%lu", (unsigned long)s->starts,
		  (unsigned long)s->ends);
	ST_ASSERT(ctx, c.swaps >= 1, "no swap completed");
	ST_ASSERT(ctx, mmu_invalidate_check_one(&st_vm.mi, why, sizeof(why)) == 0, "%s", why);

	/* The invariant can fail: a swap that does not wait, between a start
	 * and its end, leaves in_progress raised with nothing open. */
	fakevm_init(&st_vm, MMU_INVAL_NOWAIT, "st_broken");
	mmu_invalidate_register(&st_vm.mi);
	struct mmu_inval_range r;
	fakevm_migrate_begin(&st_vm, &r, 70, 80);  /* memory in the first array only */
	fakevm_swap(&st_vm, NULL);
	fakevm_migrate_finish(&st_vm, &r);
	int broken = mmu_invalidate_check_all(why, sizeof(why));
	mmu_invalidate_unregister(&st_vm.mi);
	ST_ASSERT(ctx, broken != 0, "the invariant missed an unbalanced in_progress");
	st_note(ctx, "broken variant caught: %s", why);
	return 0;
}
SELFTEST(memslot_inval_concurrent, st_concurrent);

/*
 * Host tests of the invalidation protocol (core/virt/mmu_invalidate.c, the
 * real code) through the fake VM (core/virt/mmu_inval_fakevm.c), on threads
 * under ThreadSanitizer.  Interleavings that matter are forced by waiting
 * until a task sleeps (host_wait_until_sleeping) or until the swapper is
 * queued (mmu_invalidate_swap_waiting), never by timing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/completion.h>
#include <vigil/lockdep.h>
#include <vigil/mmu_invalidate.h>
#include <vigil/sched.h>

#include "host_sched.h"
#include "mmu_inval_fakevm.h"

static struct fakevm vm;

static void wait_swapper_queued(struct fakevm *v)
{
	for (unsigned i = 0; i < 100000 && !mmu_invalidate_swap_waiting(&v->mi); i++)
		host_msleep(1);
	assert_true(mmu_invalidate_swap_waiting(&v->mi));
}

/* ---- the swapper task ---- */

struct swapper {
	struct fakevm *vm;
	int abort;
	int ret;
	int done;
};

static void swapper_fn(void *arg)
{
	struct swapper *s = arg;
	s->ret = fakevm_swap(s->vm, &s->abort);
	__atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
}

/* ---- nested start with a queued swap ---- */

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
	fakevm_migrate_begin(n->vm, &r2, 8, 24);  /* nested, a swap queued meanwhile */
	fakevm_migrate_finish(n->vm, &r2);
	complete(&n->nested_done);
	wait_for_completion(&n->go_end);
	fakevm_migrate_finish(n->vm, &r1);
}

static void nester_init(struct nester *n)
{
	n->vm = &vm;
	init_completion(&n->started);
	init_completion(&n->go_nested);
	init_completion(&n->nested_done);
	init_completion(&n->go_end);
}

static void test_nested_start_with_queued_swap_completes(void **state)
{
	(void)state;
	struct nester n;
	struct swapper s = { .vm = &vm };

	fakevm_init(&vm, MMU_INVAL_COUNT, "vm_nested");
	nester_init(&n);
	struct task *tn = host_task_spawn(nester_fn, &n, 1, "nester");
	wait_for_completion(&n.started);
	struct task *ts = host_task_spawn(swapper_fn, &s, 2, "swapper");
	wait_swapper_queued(&vm);
	host_wait_until_sleeping(ts);
	complete(&n.go_nested);
	wait_for_completion(&n.nested_done);   /* the nested start did not wait */
	/* The swap still waits: the outer invalidation is open. */
	assert_int_equal(__atomic_load_n(&s.done, __ATOMIC_SEQ_CST), 0);
	assert_int_equal(vm.mi.st.swaps, 0);
	complete(&n.go_end);
	host_task_join(tn);
	host_task_join(ts);
	assert_int_equal(s.ret, 0);
	assert_int_equal(vm.mi.st.swaps, 1);
	assert_int_equal(vm.mi.st.swap_waits, 1);
	assert_int_equal(vm.mi.st.mismatches, 0);
	assert_ptr_equal(mmu_invalidate_slots(&vm.mi), &fakevm_slots_b);
	char why[128];
	assert_int_equal(mmu_invalidate_check_one(&vm.mi, why, sizeof(why)), 0);
}

/* ---- the old design: the same interleaving deadlocks ---- */

static void test_rwsem_nested_deadlocks_abort_recovers(void **state)
{
	(void)state;
	struct nester n;
	struct swapper s = { .vm = &vm };

	fakevm_init(&vm, MMU_INVAL_RWSEM, "vm_rwsem");
	nester_init(&n);
	struct task *tn = host_task_spawn(nester_fn, &n, 1, "nester");
	wait_for_completion(&n.started);
	struct task *ts = host_task_spawn(swapper_fn, &s, 2, "swapper");
	for (unsigned i = 0; i < 100000 && !rwsem_has_waiters(&vm.mi.slots_rwsem); i++)
		host_msleep(1);
	host_wait_until_sleeping(ts);
	host_console_clear();
	lockdep_expect_begin();
	unsigned long sleeps = host_task_sleeps(tn);
	complete(&n.go_nested);
	/* The nested start sleeps behind the queued swap: wait until the
	 * nester has gone to sleep once more (on the rw-semaphore). */
	for (unsigned i = 0; i < 100000 && host_task_sleeps(tn) == sleeps; i++)
		host_msleep(1);
	host_wait_until_sleeping(tn);
	assert_int_equal(__atomic_load_n(&s.done, __ATOMIC_SEQ_CST), 0);
	assert_true(host_console_count("possible recursive locking detected") >= 1);
	assert_true(host_console_count("recursive read: a writer queued") >= 1);
	/* Both are stuck; give the swap up, and the nested start proceeds. */
	__atomic_store_n(&s.abort, 1, __ATOMIC_SEQ_CST);
	mmu_invalidate_swap_kick(&vm.mi);
	wait_for_completion(&n.nested_done);
	complete(&n.go_end);
	host_task_join(tn);
	host_task_join(ts);
	assert_true(lockdep_expect_end() >= 1);
	assert_int_equal(s.ret, -1);
	assert_int_equal(vm.mi.st.swaps, 0);
	assert_int_equal(vm.mi.st.swap_aborts, 1);
	assert_false(rwsem_is_locked(&vm.mi.slots_rwsem));
	char why[128];
	assert_int_equal(mmu_invalidate_check_one(&vm.mi, why, sizeof(why)), 0);
}

/* ---- the swap waits for zero ---- */

struct holder {
	struct fakevm *vm;
	uint64_t start, end;
	struct completion started, go_end;
};

static void holder_fn(void *arg)
{
	struct holder *h = arg;
	struct mmu_inval_range r;

	fakevm_migrate_begin(h->vm, &r, h->start, h->end);
	complete(&h->started);
	wait_for_completion(&h->go_end);
	fakevm_migrate_finish(h->vm, &r);
}

static void test_swap_waits_for_zero(void **state)
{
	(void)state;
	struct holder h[2] = { { .vm = &vm, .start = 0, .end = 8 }, { .vm = &vm, .start = 100, .end = 110 } };  /* the second hits no slot of a */
	struct swapper s = { .vm = &vm };
	struct task *th[2];

	fakevm_init(&vm, MMU_INVAL_COUNT, "vm_wait");
	for (int i = 0; i < 2; i++) {
		init_completion(&h[i].started);
		init_completion(&h[i].go_end);
		th[i] = host_task_spawn(holder_fn, &h[i], 1 + i, "holder");
		wait_for_completion(&h[i].started);
	}
	assert_int_equal(vm.mi.active_invalidations, 2);
	assert_int_equal(vm.mi.in_progress, 1);  /* only the first hits guest memory */
	struct task *ts = host_task_spawn(swapper_fn, &s, 3, "swapper");
	wait_swapper_queued(&vm);
	host_wait_until_sleeping(ts);
	complete(&h[0].go_end);
	host_task_join(th[0]);
	/* One still open (even one outside guest memory): no swap. */
	host_wait_until_sleeping(ts);
	assert_int_equal(__atomic_load_n(&s.done, __ATOMIC_SEQ_CST), 0);
	assert_int_equal(vm.mi.st.swaps, 0);
	complete(&h[1].go_end);
	host_task_join(th[1]);
	host_task_join(ts);
	assert_int_equal(s.ret, 0);
	assert_int_equal(vm.mi.st.swaps, 1);
	assert_int_equal(vm.mi.st.mismatches, 0);
}

/* A swap aborted while it waits publishes nothing. */
static void test_swap_abort(void **state)
{
	(void)state;
	struct holder h = { .vm = &vm, .start = 0, .end = 8 };
	struct swapper s = { .vm = &vm };

	fakevm_init(&vm, MMU_INVAL_COUNT, "vm_abort");
	init_completion(&h.started);
	init_completion(&h.go_end);
	struct task *th = host_task_spawn(holder_fn, &h, 1, "holder");
	wait_for_completion(&h.started);
	struct task *ts = host_task_spawn(swapper_fn, &s, 2, "swapper");
	wait_swapper_queued(&vm);
	__atomic_store_n(&s.abort, 1, __ATOMIC_SEQ_CST);
	mmu_invalidate_swap_kick(&vm.mi);
	host_task_join(ts);
	assert_int_equal(s.ret, -1);
	assert_ptr_equal(mmu_invalidate_slots(&vm.mi), &fakevm_slots_a);
	assert_false(mmu_invalidate_swap_waiting(&vm.mi));
	complete(&h.go_end);
	host_task_join(th);
	assert_int_equal(vm.mi.st.swap_aborts, 1);
}

/* ---- balance ---- */

static void test_balance_and_range(void **state)
{
	(void)state;
	struct mmu_inval_range r1, r2, r3;
	char why[160];

	fakevm_init(&vm, MMU_INVAL_COUNT, "vm_bal");
	fakevm_migrate_begin(&vm, &r1, 10, 20);
	fakevm_migrate_begin(&vm, &r2, 30, 40);
	fakevm_migrate_begin(&vm, &r3, 100, 120);  /* no slot of a there */
	assert_true(r1.counted && r2.counted);
	assert_false(r3.counted);
	assert_int_equal(vm.mi.in_progress, 2);
	assert_int_equal(vm.mi.active_invalidations, 3);
	assert_int_equal(vm.mi.range_start, 10);    /* the union of the open ranges */
	assert_int_equal(vm.mi.range_end, 40);
	assert_int_equal(mmu_invalidate_check_one(&vm.mi, why, sizeof(why)), 0);
	fakevm_migrate_finish(&vm, &r1);
	fakevm_migrate_finish(&vm, &r3);
	assert_int_equal(vm.mi.in_progress, 1);
	assert_int_equal(vm.mi.range_end, 40);       /* kept until zero */
	fakevm_migrate_finish(&vm, &r2);
	assert_int_equal(vm.mi.in_progress, 0);
	assert_int_equal(vm.mi.active_invalidations, 0);
	assert_int_equal(vm.mi.range_start, 0);
	assert_int_equal(vm.mi.range_end, 0);
	assert_int_equal(vm.mi.seq, 2);              /* one per counted end */
	assert_int_equal(mmu_invalidate_check_one(&vm.mi, why, sizeof(why)), 0);
}

/* Without the wait, a swap between start and end unbalances in_progress,
 * both ways, and the check says so. */
static void test_nowait_swap_unbalances(void **state)
{
	(void)state;
	struct mmu_inval_range r;
	char why[160];

	fakevm_init(&vm, MMU_INVAL_NOWAIT, "vm_broken");
	fakevm_migrate_begin(&vm, &r, 70, 80);   /* memory in a: counted */
	assert_true(r.counted);
	assert_int_equal(fakevm_swap(&vm, NULL), 0);  /* b: no memory there */
	fakevm_migrate_finish(&vm, &r);
	assert_int_equal(vm.mi.st.mismatches, 1);
	assert_int_equal(vm.mi.in_progress, 1);  /* stays raised: every fault in range retries */
	assert_int_equal(mmu_invalidate_check_one(&vm.mi, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "in_progress=1 with no invalidation open"));

	fakevm_init(&vm, MMU_INVAL_NOWAIT, "vm_broken");
	assert_int_equal(fakevm_swap(&vm, NULL), 0);  /* now b */
	fakevm_migrate_begin(&vm, &r, 70, 80);   /* no memory in b: not counted */
	assert_false(r.counted);
	assert_int_equal(fakevm_swap(&vm, NULL), 0);  /* back to a */
	fakevm_migrate_finish(&vm, &r);
	assert_int_equal(vm.mi.in_progress, -1);
	assert_int_equal(vm.mi.st.underflows, 1);
	assert_int_equal(mmu_invalidate_check_one(&vm.mi, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "below zero"));
}

/* ---- fault retry semantics ---- */

static void test_fault_retry_rules(void **state)
{
	(void)state;
	struct mmu_inval_range r;

	fakevm_init(&vm, MMU_INVAL_COUNT, "vm_fault");
	assert_int_equal(fakevm_fault(&vm, 5), 0);
	assert_int_equal(vm.spte[5], vm.backing[5]);

	/* seq moved between the read and the lock: retry. */
	uint64_t seq = mmu_invalidate_fault_seq(&vm.mi);
	fakevm_migrate(&vm, 4, 6, 0, 0);
	assert_int_equal(vm.spte[5], 0);  /* zapped */
	spin_lock(&vm.mmu_lock);
	assert_true(mmu_invalidate_retry_gfn(&vm.mi, seq, 5));
	assert_true(mmu_invalidate_retry_gfn(&vm.mi, seq, 50));  /* seq moved: any gfn */
	spin_unlock(&vm.mmu_lock);

	/* An open invalidation covers the gfn: retry, even with seq unchanged;
	 * outside its range: no retry. */
	seq = mmu_invalidate_fault_seq(&vm.mi);
	fakevm_migrate_begin(&vm, &r, 10, 20);
	spin_lock(&vm.mmu_lock);
	assert_true(mmu_invalidate_retry_gfn(&vm.mi, seq, 10));
	assert_true(mmu_invalidate_retry_gfn(&vm.mi, seq, 19));
	assert_false(mmu_invalidate_retry_gfn(&vm.mi, seq, 20));
	assert_false(mmu_invalidate_retry_gfn(&vm.mi, seq, 9));
	spin_unlock(&vm.mmu_lock);
	fakevm_migrate_finish(&vm, &r);
	assert_int_equal(fakevm_fault(&vm, 5), 0);
	assert_int_equal(vm.spte[5], vm.backing[5]);
	assert_int_equal(fakevm_stale(&vm), 0);
}

struct faulter {
	struct fakevm *vm;
	uint64_t gfn;
	unsigned retries;
};

static void faulter_fn(void *arg)
{
	struct faulter *f = arg;
	f->retries = fakevm_fault(f->vm, f->gfn);
}

/* A fault during an open invalidation of its gfn retries until the end and
 * then installs the new frame. */
static void test_fault_retries_until_end(void **state)
{
	(void)state;
	struct mmu_inval_range r;
	struct faulter f = { &vm, 12, 0 };

	fakevm_init(&vm, MMU_INVAL_COUNT, "vm_fault2");
	uint64_t old = vm.backing[12];
	fakevm_migrate_begin(&vm, &r, 10, 20);
	struct task *t = host_task_spawn(faulter_fn, &f, 1, "faulter");
	while (__atomic_load_n(&vm.mi.st.faults, __ATOMIC_SEQ_CST) == 0 &&
	       __atomic_load_n(&vm.mi.st.retries, __ATOMIC_SEQ_CST) == 0)
		host_yield();
	/* It cannot have installed: the fault retries while the range is open. */
	assert_int_equal(__atomic_load_n(&vm.mi.st.faults, __ATOMIC_SEQ_CST), 0);
	fakevm_migrate_finish(&vm, &r);
	host_task_join(t);
	assert_true(f.retries >= 1);
	assert_int_not_equal(vm.backing[12], old);
	assert_int_equal(vm.spte[12], vm.backing[12]);
	assert_int_equal(vm.mi.st.max_retries, f.retries);
}

/* ---- stress: invalidators (nesting), faulters, a swapper, a checker ---- */

#define STRESS_INVALIDATORS 3
#define STRESS_FAULTERS 2
#define STRESS_ROUNDS 3000

struct stress {
	struct fakevm *vm;
	int stop;             /* invalidators done */
	int checks_failed;
	unsigned stale_seen;
	unsigned long swaps;
	char why[160];
};

struct worker {
	struct stress *st;
	uint64_t seed;
};

static void invalidator_fn(void *arg)
{
	struct worker *w = arg;
	for (unsigned i = 0; i < STRESS_ROUNDS; i++) {
		uint64_t s, e, ns = 0, ne = 0;
		fakevm_rand_range(&w->seed, 16, &s, &e);
		if (fakevm_rand(&w->seed) % 4 == 0)
			fakevm_rand_range(&w->seed, 16, &ns, &ne);
		fakevm_migrate(w->st->vm, s, e, ns, ne);
		/* A pause now and then: with none, the invalidations overlap
		 * without a gap and the swap (unfair by design) waits until
		 * they are all done. */
		if (i % 16 == 15)
			host_msleep(1);
	}
}

static void faulter_stress_fn(void *arg)
{
	struct worker *w = arg;
	while (!__atomic_load_n(&w->st->stop, __ATOMIC_ACQUIRE))
		fakevm_fault(w->st->vm, fakevm_rand(&w->seed) % FAKEVM_GFNS);
}

static void swapper_stress_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *st = w->st;
	while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
		if (fakevm_swap(st->vm, &st->stop) == 0)
			st->swaps++;
		if (mmu_invalidate_check_one(&st->vm->mi, st->why, sizeof(st->why)))
			st->checks_failed++;
		st->stale_seen += fakevm_stale(st->vm);
	}
}

static void run_stress(struct stress *st, unsigned nfaulters)
{
	struct worker w[STRESS_INVALIDATORS + STRESS_FAULTERS + 1];
	struct task *t[STRESS_INVALIDATORS + STRESS_FAULTERS + 1];
	unsigned n = 0;

	for (unsigned i = 0; i < STRESS_INVALIDATORS; i++, n++) {
		w[n] = (struct worker){ st, 0x9e3779b97f4a7c15ull * (n + 1) };
		t[n] = host_task_spawn(invalidator_fn, &w[n], 1 + n, "invalidator");
	}
	unsigned ninval = n;
	for (unsigned i = 0; i < nfaulters; i++, n++) {
		w[n] = (struct worker){ st, 0x2545f4914f6cdd1dull * (n + 1) };
		t[n] = host_task_spawn(faulter_stress_fn, &w[n], 1 + n, "faulter");
	}
	w[n] = (struct worker){ st, 1 };
	t[n] = host_task_spawn(swapper_stress_fn, &w[n], 1 + n, "swapper");
	n++;
	for (unsigned i = 0; i < ninval; i++)
		host_task_join(t[i]);
	__atomic_store_n(&st->stop, 1, __ATOMIC_RELEASE);
	mmu_invalidate_swap_kick(&st->vm->mi);
	for (unsigned i = ninval; i < n; i++)
		host_task_join(t[i]);
}

static void test_stress_start_end_see_same_slots(void **state)
{
	(void)state;
	struct stress st = { .vm = &vm };
	char why[160];

	fakevm_init(&vm, MMU_INVAL_COUNT, "vm_stress");
	run_stress(&st, STRESS_FAULTERS);
	print_message("stress: invalidations=%lu swaps=%lu faults=%lu retries=%lu max_retries=%lu\n",
		      (unsigned long)vm.mi.st.starts, st.swaps, (unsigned long)vm.mi.st.faults,
		      (unsigned long)vm.mi.st.retries, (unsigned long)vm.mi.st.max_retries);
	if (st.checks_failed)
		print_message("check failed: %s\n", st.why);
	assert_int_equal(st.checks_failed, 0);
	assert_int_equal(st.stale_seen, 0);
	assert_int_equal(vm.mi.st.mismatches, 0);
	assert_int_equal(vm.mi.st.underflows, 0);
	assert_int_equal(vm.mi.st.starts, vm.mi.st.ends);
	assert_int_equal(vm.mi.in_progress, 0);
	assert_int_equal(vm.mi.active_invalidations, 0);
	assert_int_equal(fakevm_stale(&vm), 0);
	assert_int_equal(mmu_invalidate_check_one(&vm.mi, why, sizeof(why)), 0);
}

/* The same stress without the wait: start and end see different slots and
 * the balance breaks -- the stress can detect what the count prevents. */
static void test_stress_nowait_is_caught(void **state)
{
	(void)state;
	struct stress st = { .vm = &vm };
	char why[160];

	fakevm_init(&vm, MMU_INVAL_NOWAIT, "vm_stress_broken");
	/* No faulters: with in_progress stuck raised, a fault in the range
	 * retries for ever -- the hang this design exists to prevent. */
	run_stress(&st, 0);
	print_message("broken: mismatches=%lu underflows=%lu in_progress=%ld\n",
		      (unsigned long)vm.mi.st.mismatches, (unsigned long)vm.mi.st.underflows, vm.mi.in_progress);
	assert_true(vm.mi.st.mismatches > 0);
	assert_true(st.checks_failed > 0 || mmu_invalidate_check_one(&vm.mi, why, sizeof(why)) != 0 ||
		    vm.mi.st.underflows > 0);
}

static int teardown(void **state)
{
	return host_teardown_no_violations(state);
}

int main(void)
{
	host_watchdog(300);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_balance_and_range, teardown),
		cmocka_unit_test_teardown(test_nowait_swap_unbalances, teardown),
		cmocka_unit_test_teardown(test_fault_retry_rules, teardown),
		cmocka_unit_test_teardown(test_fault_retries_until_end, teardown),
		cmocka_unit_test_teardown(test_swap_waits_for_zero, teardown),
		cmocka_unit_test_teardown(test_swap_abort, teardown),
		cmocka_unit_test_teardown(test_nested_start_with_queued_swap_completes, teardown),
		cmocka_unit_test_teardown(test_rwsem_nested_deadlocks_abort_recovers, teardown),
		cmocka_unit_test_teardown(test_stress_start_end_see_same_slots, teardown),
		cmocka_unit_test_teardown(test_stress_nowait_is_caught, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

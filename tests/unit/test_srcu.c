/*
 * Host tests for SRCU (core/sync/srcu.c) on real threads pinned to fake CPUs,
 * under ThreadSanitizer, with lockdep on:
 *
 *  - a grace period waits for a reader that was inside when it began, even
 *    one sleeping there (normal and expedited), and does not wait for a
 *    reader that began after the index flip;
 *  - a reader may unlock on another CPU, including one that never ran a
 *    reader of the domain;
 *  - a straggler (a reader whose increment lands in a slot a flip has
 *    retired) holds up the next grace period;
 *  - published pointer: an updater swaps a pointer, synchronizes and poisons
 *    the old object while readers on four CPUs (sleeping and migrating inside
 *    their sections) check that they never see poison; TSan checks that
 *    every read of an object happens before its poisoning;
 *  - lockdep: synchronize inside a read section of the same domain is
 *    reported (and really waits for itself: a helper ends the reader's count
 *    to let it finish); a reader taking M while M's holder synchronizes is a
 *    cycle; nesting read sections, or entering one with locks held, is
 *    quiet; srcu_dereference() outside a section is reported;
 *    cleanup_srcu_struct() with a reader inside is reported.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/completion.h>
#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/sched.h>
#include <vigil/srcu.h>
#include <vigil/string.h>

#include "host_sched.h"

static DEFINE_SRCU(ss);

static int seq;
static int stamp(void)
{
	return __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
}

/* ---- a reader that holds its section until told ---- */

struct reader {
	struct srcu_struct *s;
	struct completion inside;
	struct completion *release;
	unsigned unlock_cpu;    /* 0: unlock where it locked */
	int idx;
	int left_at;
};

static void reader_init(struct reader *r, struct srcu_struct *s, struct completion *release)
{
	r->s = s;
	init_completion(&r->inside);
	r->release = release;
	r->unlock_cpu = 0;
	r->idx = -1;
	r->left_at = 0;
}

static void reader_fn(void *arg)
{
	struct reader *r = arg;
	int idx = srcu_read_lock(r->s);

	r->idx = idx;
	assert_true(srcu_read_lock_held(r->s));
	complete(&r->inside);
	wait_for_completion(r->release);   /* sleeps inside the section */
	if (r->unlock_cpu)
		host_task_set_cpu(r->unlock_cpu);
	__atomic_store_n(&r->left_at, stamp(), __ATOMIC_SEQ_CST);
	srcu_read_unlock(r->s, idx);
}

struct updater {
	struct srcu_struct *s;
	bool expedited;
	int done_at;
};

static void updater_fn(void *arg)
{
	struct updater *u = arg;

	if (u->expedited)
		synchronize_srcu_expedited(u->s);
	else
		synchronize_srcu(u->s);
	__atomic_store_n(&u->done_at, stamp(), __ATOMIC_SEQ_CST);
}

static int done_at(struct updater *u)
{
	return __atomic_load_n(&u->done_at, __ATOMIC_SEQ_CST);
}

/* ---- basics ---- */

static void test_no_readers_returns(void **state)
{
	(void)state;
	unsigned long gps = srcu_batches_completed(&ss);

	synchronize_srcu(&ss);
	synchronize_srcu_expedited(&ss);
	assert_int_equal(srcu_batches_completed(&ss), gps + 2);
	assert_int_equal(srcu_readers_active(&ss), 0);

	/* Nested sections: both counted, any order of slots. */
	int a = srcu_read_lock(&ss);
	int b = srcu_read_lock(&ss);
	assert_true(a == 0 || a == 1);
	assert_int_equal(a, b);
	assert_int_equal(srcu_readers_active(&ss), 2);
	srcu_read_unlock(&ss, b);
	srcu_read_unlock(&ss, a);
	assert_int_equal(srcu_readers_active(&ss), 0);
	assert_false(srcu_read_lock_held(&ss));
}

/* A reader inside (sleeping) when the grace period starts holds it up. */
static void grace_period_waits_for_reader(bool expedited)
{
	DECLARE_COMPLETION(release);
	struct reader r;
	struct updater u = { &ss, expedited, 0 };

	reader_init(&r, &ss, &release);
	struct task *tr = host_task_spawn(reader_fn, &r, 1, "reader");
	wait_for_completion(&r.inside);
	host_wait_until_sleeping(tr);
	unsigned long sleeps = ss.gp_sleeps;
	struct task *tu = host_task_spawn(updater_fn, &u, 2, "updater");
	host_wait_until_sleeping(tu);
	/* Both asleep: the updater can only be waiting for the reader. */
	assert_int_equal(done_at(&u), 0);
	assert_true(__atomic_load_n(&ss.gp_sleeps, __ATOMIC_SEQ_CST) > sleeps);
	complete(&release);
	host_task_join(tr);
	host_task_join(tu);
	assert_true(r.left_at < done_at(&u));
	assert_int_equal(srcu_readers_active(&ss), 0);
}

static void test_grace_period_waits_for_sleeping_reader(void **state)
{
	(void)state;
	grace_period_waits_for_reader(false);
}

static void test_expedited_waits_for_sleeping_reader(void **state)
{
	(void)state;
	grace_period_waits_for_reader(true);
}

/* R1 inside before the flip holds the grace period; R2, which enters after
 * the flip (the updater is already asleep), does not: the updater finishes
 * while R2 is still inside. */
static void test_later_reader_does_not_block(void **state)
{
	(void)state;
	DECLARE_COMPLETION(release1);
	DECLARE_COMPLETION(release2);
	struct reader r1, r2;
	struct updater u = { &ss, false, 0 };

	reader_init(&r1, &ss, &release1);
	reader_init(&r2, &ss, &release2);
	struct task *t1 = host_task_spawn(reader_fn, &r1, 1, "r1");
	wait_for_completion(&r1.inside);
	unsigned long before = __atomic_load_n(&ss.completed, __ATOMIC_SEQ_CST);
	struct task *tu = host_task_spawn(updater_fn, &u, 2, "updater");
	/* Asleep after the flip (the first wait, for stragglers, finds the
	 * other slot empty and does not sleep). */
	host_wait_until_sleeping(tu);
	assert_int_equal(__atomic_load_n(&ss.completed, __ATOMIC_SEQ_CST), before + 1);
	struct task *t2 = host_task_spawn(reader_fn, &r2, 3, "r2");
	wait_for_completion(&r2.inside);
	assert_int_not_equal(r1.idx, r2.idx);
	complete(&release1);
	host_task_join(t1);
	host_task_join(tu);
	assert_int_equal(r2.left_at, 0);   /* still inside */
	assert_true(done_at(&u) > r1.left_at);
	complete(&release2);
	host_task_join(t2);
	assert_int_equal(srcu_readers_active(&ss), 0);
}

/* Lock on CPU 4, unlock on CPU 40 (never used by this domain): only the
 * sums balance, and the grace period ends when the reader does. */
static void test_unlock_on_another_cpu(void **state)
{
	(void)state;
	DECLARE_COMPLETION(release);
	struct reader r;
	struct updater u = { &ss, true, 0 };

	assert_true(ss.nr_cpus <= 40);
	reader_init(&r, &ss, &release);
	r.unlock_cpu = 40;
	struct task *tr = host_task_spawn(reader_fn, &r, 4, "migrant");
	wait_for_completion(&r.inside);
	struct task *tu = host_task_spawn(updater_fn, &u, 5, "updater");
	host_wait_until_sleeping(tu);
	assert_int_equal(done_at(&u), 0);
	complete(&release);
	host_task_join(tr);
	host_task_join(tu);
	assert_true(r.left_at < done_at(&u));
	assert_int_equal(ss.nr_cpus, 41);
	assert_int_equal(srcu_readers_active(&ss), 0);
}

/* A straggler: a reader that loaded the current slot, then was delayed
 * until a grace period had flipped away from that slot and found it empty,
 * and only then incremented it (white box: its increment is made by hand).
 * The next grace period flips back to that slot as the current one; it must
 * still wait for the straggler, which its first wait (for the slot that is
 * not current) does. */
static void test_straggler_of_previous_flip(void **state)
{
	(void)state;
	struct updater u = { &ss, false, 0 };
	int stale = (int)(__atomic_load_n(&ss.completed, __ATOMIC_SEQ_CST) & 1);

	assert_true(ss.nr_cpus > 1);
	synchronize_srcu(&ss);                  /* flips away from `stale` */
	__atomic_fetch_add(&ss.cpu[1].lock[stale], 1, __ATOMIC_SEQ_CST);  /* the late increment */
	assert_int_equal(srcu_readers_active(&ss), 1);
	struct task *tu = host_task_spawn(updater_fn, &u, 2, "updater");
	host_wait_until_sleeping(tu);
	assert_int_equal(done_at(&u), 0);
	/* Still before the flip back: the straggler's slot is not current. */
	assert_int_not_equal((int)(__atomic_load_n(&ss.completed, __ATOMIC_SEQ_CST) & 1), stale);
	int left = stamp();
	__srcu_read_unlock(&ss, stale);         /* the straggler leaves */
	host_task_join(tu);
	assert_true(left < done_at(&u));
	assert_int_equal(srcu_readers_active(&ss), 0);
}

/* ---- published pointer ---- */

#define OBJS 400
#define POISON 0xdeadbeefUL
#define PP_READERS 4

struct obj {
	unsigned long value;   /* 2 * id + 1 while live, POISON once retired */
	unsigned long id;
};

static struct obj objs[OBJS];
static struct obj *published;
static DEFINE_SRCU(pp_srcu);
static int pp_stop;
static unsigned long pp_poison_seen, pp_bad_seen, pp_reads;

static void pp_reader(void *arg)
{
	unsigned cpu = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; !__atomic_load_n(&pp_stop, __ATOMIC_ACQUIRE); i++) {
		int idx = srcu_read_lock(&pp_srcu);
		struct obj *p = srcu_dereference(published, &pp_srcu);
		unsigned long v = p->value;   /* plain: TSan checks the ordering */
		if ((i & 15) == 0)
			host_yield();             /* stay inside a while */
		if ((i & 63) == 0)
			host_task_set_cpu(cpu + ((i >> 6) & 1) * PP_READERS);  /* migrate inside */
		if ((i & 255) == 0)
			host_msleep(1);           /* sleep inside */
		unsigned long v2 = p->value;
		unsigned long id = p->id;
		srcu_read_unlock(&pp_srcu, idx);
		if (v == POISON || v2 == POISON)
			__atomic_add_fetch(&pp_poison_seen, 1, __ATOMIC_RELAXED);
		else if (v != 2 * id + 1 || v2 != v)
			__atomic_add_fetch(&pp_bad_seen, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&pp_reads, 1, __ATOMIC_RELAXED);
	}
}

static void test_published_pointer(void **state)
{
	(void)state;
	struct task *t[PP_READERS];

	objs[0].id = 0;
	objs[0].value = 1;
	srcu_assign_pointer(published, &objs[0]);
	for (unsigned i = 0; i < PP_READERS; i++)
		t[i] = host_task_spawn(pp_reader, (void *)(uintptr_t)(1 + i), 1 + i, "pp-reader");
	host_task_set_cpu(20);
	for (unsigned n = 1; n < OBJS; n++) {
		struct obj *fresh = &objs[n];
		fresh->id = n;
		fresh->value = 2 * n + 1;
		struct obj *old = published;   /* only this task writes it */
		srcu_assign_pointer(published, fresh);
		if (n & 1)
			synchronize_srcu(&pp_srcu);
		else
			synchronize_srcu_expedited(&pp_srcu);
		old->value = POISON;           /* plain: a reader still on it is a race */
	}
	__atomic_store_n(&pp_stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < PP_READERS; i++)
		host_task_join(t[i]);
	host_task_set_cpu(0);
	print_message("published pointer: %lu reads, %u grace periods, %lu updater sleeps\n",
		      pp_reads, OBJS - 1, pp_srcu.gp_sleeps);
	assert_int_equal(pp_poison_seen, 0);
	assert_int_equal(pp_bad_seen, 0);
	assert_true(pp_reads > 0);
	assert_int_equal(srcu_readers_active(&pp_srcu), 0);
}

/* ---- lockdep ---- */

static DEFINE_SRCU(self_srcu);
static int self_idx;

/* Stands in for the reader that cannot leave: once lockdep has reported,
 * end the main task's count (the lockdep-free half), so the grace period it
 * is stuck in can finish. */
static void unblock_self(void *arg)
{
	unsigned expected_before = (unsigned)(uintptr_t)arg;
	struct lockdep_stats st;

	for (;;) {
		lockdep_get_stats(&st);
		if (st.expected > expected_before)
			break;
		host_msleep(1);
	}
	__srcu_read_unlock(&self_srcu, self_idx);
}

static void test_lockdep_synchronize_inside_own_read_section(void **state)
{
	(void)state;
	struct lockdep_stats st;

	lockdep_get_stats(&st);
	host_console_clear();
	lockdep_expect_begin();
	self_idx = srcu_read_lock(&self_srcu);
	struct task *helper = host_task_spawn(unblock_self, (void *)(uintptr_t)st.expected, 3,
					      "unblocker");
	synchronize_srcu(&self_srcu);   /* reports, then waits for the helper */
	host_task_join(helper);
	/* The section's count is gone; drop lockdep's record of it. */
	lock_release(&self_srcu.dep_map, LOCKDEP_SITE, 0);
	unsigned reports = lockdep_expect_end();

	assert_int_equal(reports, 1);
	assert_true(host_console_count("possible recursive locking detected") >= 1);
	assert_true(host_console_count("a grace period waits for every read section") >= 1);
	assert_true(host_console_count("self_srcu") >= 2);
	assert_int_equal(srcu_readers_active(&self_srcu), 0);
	assert_int_equal(lockdep_current()->depth, 0);
}

static DEFINE_SRCU(cyc_srcu);
static DEFINE_MUTEX(cyc_m);

static void cyc_reader(void *arg)
{
	(void)arg;
	int idx = srcu_read_lock(&cyc_srcu);
	mutex_lock(&cyc_m);            /* edge cyc_srcu -> cyc_m */
	mutex_unlock(&cyc_m);
	srcu_read_unlock(&cyc_srcu, idx);
}

static void cyc_updater(void *arg)
{
	(void)arg;
	mutex_lock(&cyc_m);
	synchronize_srcu(&cyc_srcu);   /* edge cyc_m -> cyc_srcu: closes the cycle */
	mutex_unlock(&cyc_m);
}

static void test_lockdep_reader_lock_vs_updater_lock(void **state)
{
	(void)state;
	host_console_clear();
	lockdep_expect_begin();
	host_task_run(cyc_reader, NULL, 1, "cyc-reader");
	host_task_run(cyc_updater, NULL, 2, "cyc-updater");
	unsigned reports = lockdep_expect_end();

	assert_int_equal(reports, 1);
	assert_true(host_console_count("cyc_srcu") >= 1);
	assert_true(host_console_count("cyc_m") >= 1);
}

static DEFINE_SRCU(quiet_srcu);
static DEFINE_MUTEX(quiet_m);

static void test_lockdep_quiet_uses(void **state)
{
	(void)state;
	struct lockdep_stats a, b;

	lockdep_get_stats(&a);
	/* Locks held around a read section: the section never waits. */
	mutex_lock(&quiet_m);
	int i1 = srcu_read_lock(&quiet_srcu);
	int i2 = srcu_read_lock(&quiet_srcu);   /* nested: fine */
	assert_true(srcu_read_lock_held(&quiet_srcu));
	lockdep_assert_srcu_read_held(&quiet_srcu);
	srcu_read_unlock(&quiet_srcu, i2);
	srcu_read_unlock(&quiet_srcu, i1);
	mutex_unlock(&quiet_m);
	/* And the reverse nesting in another read section. */
	i1 = srcu_read_lock(&quiet_srcu);
	mutex_lock(&quiet_m);
	mutex_unlock(&quiet_m);
	srcu_read_unlock(&quiet_srcu, i1);
	/* A grace period with no lock held. */
	synchronize_srcu(&quiet_srcu);
	lockdep_get_stats(&b);
	assert_int_equal(b.violations, a.violations);
	assert_int_equal(b.expected, a.expected);
}

static struct obj *unprotected;

static void test_lockdep_dereference_outside_section(void **state)
{
	(void)state;
	host_console_clear();
	unprotected = &objs[0];
	lockdep_expect_begin();
	struct obj *p = srcu_dereference(unprotected, &ss);
	unsigned reports = lockdep_expect_end();

	assert_ptr_equal(p, &objs[0]);
	assert_int_equal(reports, 1);
	assert_true(host_console_count("lockdep_assert_held failed") >= 1);

	/* Inside a section: quiet. */
	int idx = srcu_read_lock(&ss);
	lockdep_expect_begin();
	p = srcu_dereference(unprotected, &ss);
	reports = lockdep_expect_end();
	srcu_read_unlock(&ss, idx);
	assert_int_equal(reports, 0);
}

static struct srcu_struct dyn;

static void test_runtime_init_and_cleanup(void **state)
{
	(void)state;
	init_srcu_struct(&dyn);
	int idx = srcu_read_lock(&dyn);
	lockdep_expect_begin();
	cleanup_srcu_struct(&dyn);     /* a reader inside: reported */
	unsigned busy = lockdep_expect_end();
	srcu_read_unlock(&dyn, idx);
	synchronize_srcu(&dyn);
	lockdep_expect_begin();
	cleanup_srcu_struct(&dyn);     /* idle: quiet */
	unsigned idle = lockdep_expect_end();
	assert_int_equal(busy, 1);
	assert_int_equal(idle, 0);
}

static int teardown(void **state)
{
	assert_int_equal(lockdep_current()->depth, 0);
	assert_int_equal(preempt_count(), 0);
	return host_teardown_no_violations(state);
}

int main(void)
{
	host_watchdog(300);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_no_readers_returns, teardown),
		cmocka_unit_test_teardown(test_grace_period_waits_for_sleeping_reader, teardown),
		cmocka_unit_test_teardown(test_expedited_waits_for_sleeping_reader, teardown),
		cmocka_unit_test_teardown(test_later_reader_does_not_block, teardown),
		cmocka_unit_test_teardown(test_unlock_on_another_cpu, teardown),
		cmocka_unit_test_teardown(test_straggler_of_previous_flip, teardown),
		cmocka_unit_test_teardown(test_published_pointer, teardown),
		cmocka_unit_test_teardown(test_lockdep_synchronize_inside_own_read_section, teardown),
		cmocka_unit_test_teardown(test_lockdep_reader_lock_vs_updater_lock, teardown),
		cmocka_unit_test_teardown(test_lockdep_quiet_uses, teardown),
		cmocka_unit_test_teardown(test_lockdep_dereference_outside_section, teardown),
		cmocka_unit_test_teardown(test_runtime_init_and_cleanup, teardown),
	};
	return cmocka_run_group_tests_name("srcu", tests, NULL, NULL);
}

/*
 * Host tests for rw-semaphores (core/sync/rwsem.c) on real threads under
 * ThreadSanitizer: readers share, a writer excludes, a waiting writer blocks
 * new readers and the readers queued behind it run together after it
 * (deterministic, with completions), trylocks, and a reader/writer stress
 * whose invariant a torn critical section would break.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/completion.h>
#include <vigil/lockdep.h>
#include <vigil/rwsem.h>
#include <vigil/sched.h>

#include "host_sched.h"

static DECLARE_RWSEM(sem);

/* Event log: who did what, in which order. */
static int seq;
static int stamp(void)
{
	return __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
}

struct actor {
	bool write;
	struct completion *hold_until;   /* NULL: release at once */
	struct completion holding;       /* completed once inside */
	int got_at, released_at;
	int *inside;                     /* optional: count tasks inside together */
	int want_inside;
};

static void actor_init(struct actor *a, bool write, struct completion *hold_until)
{
	a->write = write;
	a->hold_until = hold_until;
	init_completion(&a->holding);
	a->got_at = a->released_at = 0;
	a->inside = NULL;
	a->want_inside = 0;
}

static void actor_fn(void *arg)
{
	struct actor *a = arg;

	if (a->write)
		down_write(&sem);
	else
		down_read(&sem);
	__atomic_store_n(&a->got_at, stamp(), __ATOMIC_SEQ_CST);
	complete(&a->holding);
	if (a->inside) {
		/* Wait (bounded) until want_inside tasks are inside at once. */
		__atomic_fetch_add(a->inside, 1, __ATOMIC_SEQ_CST);
		for (int i = 0; i < 10000 && __atomic_load_n(a->inside, __ATOMIC_SEQ_CST) < a->want_inside; i++)
			host_msleep(1);
	}
	if (a->hold_until)
		wait_for_completion(a->hold_until);
	__atomic_store_n(&a->released_at, stamp(), __ATOMIC_SEQ_CST);
	if (a->write)
		up_write(&sem);
	else
		up_read(&sem);
}

static int got_at(struct actor *a)
{
	return __atomic_load_n(&a->got_at, __ATOMIC_SEQ_CST);
}

static void test_readers_share(void **state)
{
	(void)state;
	DECLARE_COMPLETION(release);
	struct actor r1, r2;

	actor_init(&r1, false, &release);
	actor_init(&r2, false, &release);
	struct task *t1 = host_task_spawn(actor_fn, &r1, 1, "r1");
	wait_for_completion(&r1.holding);
	/* r1 holds it for read: a second reader gets in without waiting. */
	struct task *t2 = host_task_spawn(actor_fn, &r2, 2, "r2");
	wait_for_completion(&r2.holding);
	assert_true(rwsem_is_locked(&sem));
	assert_false(down_write_trylock(&sem));
	assert_true(down_read_trylock(&sem));
	up_read(&sem);
	complete_all(&release);
	host_task_join(t1);
	host_task_join(t2);
	assert_false(rwsem_is_locked(&sem));
}

static void test_writer_excludes(void **state)
{
	(void)state;
	DECLARE_COMPLETION(release);
	struct actor w, r, w2;

	actor_init(&w, true, &release);
	actor_init(&r, false, NULL);
	actor_init(&w2, true, NULL);
	struct task *tw = host_task_spawn(actor_fn, &w, 1, "w");
	wait_for_completion(&w.holding);
	assert_false(down_read_trylock(&sem));
	assert_false(down_write_trylock(&sem));
	struct task *tr = host_task_spawn(actor_fn, &r, 2, "r");
	struct task *tw2 = host_task_spawn(actor_fn, &w2, 3, "w2");
	host_wait_until_sleeping(tr);
	host_wait_until_sleeping(tw2);
	assert_int_equal(got_at(&r), 0);
	assert_int_equal(got_at(&w2), 0);
	complete(&release);
	host_task_join(tw);
	host_task_join(tr);
	host_task_join(tw2);
	assert_true(got_at(&r) > w.released_at);
	assert_true(got_at(&w2) > w.released_at);
	/* r and w2 never overlapped. */
	assert_true(got_at(&r) > w2.released_at || got_at(&w2) > r.released_at);
}

/*
 * The writer-preference scenario: R1 holds for read, W waits for write, R2
 * arrives.  R2 must not get in (it would starve W under a stream of readers)
 * until W has had the semaphore and released it.
 */
static void test_waiting_writer_blocks_new_readers(void **state)
{
	(void)state;
	DECLARE_COMPLETION(release_r1);
	struct actor r1, w, r2;

	actor_init(&r1, false, &release_r1);
	actor_init(&w, true, NULL);
	actor_init(&r2, false, NULL);
	struct task *t1 = host_task_spawn(actor_fn, &r1, 1, "r1");
	wait_for_completion(&r1.holding);
	struct task *tw = host_task_spawn(actor_fn, &w, 2, "w");
	host_wait_until_sleeping(tw);
	assert_true(rwsem_has_waiters(&sem));
	struct task *t2 = host_task_spawn(actor_fn, &r2, 3, "r2");
	host_wait_until_sleeping(t2);
	/* Neither W nor R2 is in; a read trylock is refused too. */
	assert_int_equal(got_at(&w), 0);
	assert_int_equal(got_at(&r2), 0);
	assert_false(down_read_trylock(&sem));

	complete(&release_r1);
	host_task_join(t1);
	host_task_join(tw);
	host_task_join(t2);
	assert_true(r1.released_at < w.got_at);
	assert_true(w.got_at < w.released_at);
	assert_true(w.released_at < r2.got_at);
	assert_false(rwsem_is_locked(&sem));
}

/* Readers queued behind a writer are let in together when it leaves. */
static void test_readers_behind_writer_run_together(void **state)
{
	(void)state;
	DECLARE_COMPLETION(release_w);
	struct actor w, r[3];
	struct task *tr[3];
	int inside = 0;

	actor_init(&w, true, &release_w);
	struct task *tw = host_task_spawn(actor_fn, &w, 1, "w");
	wait_for_completion(&w.holding);
	for (int i = 0; i < 3; i++) {
		actor_init(&r[i], false, NULL);
		r[i].inside = &inside;
		r[i].want_inside = 3;
		tr[i] = host_task_spawn(actor_fn, &r[i], 2 + i, "r");
		host_wait_until_sleeping(tr[i]);
	}
	complete(&release_w);
	host_task_join(tw);
	for (int i = 0; i < 3; i++)
		host_task_join(tr[i]);
	/* All three were inside at the same time before any left. */
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			assert_true(r[i].got_at < r[j].released_at);
}

/* ---- stress ---- */

#define READERS 4
#define WRITERS 2
#define ITERS 3000

static unsigned long a_val, b_val;   /* written together under write */
static int torn;

static void stress_reader(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		down_read(&sem);
		if (a_val != b_val)
			__atomic_store_n(&torn, 1, __ATOMIC_SEQ_CST);
		up_read(&sem);
	}
}

static void stress_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		if (i & 1) {
			down_write(&sem);
		} else {
			while (!down_write_trylock(&sem))
				host_yield();
		}
		a_val++;
		if ((i & 31) == 0)
			host_yield();
		b_val++;
		up_write(&sem);
	}
}

static void test_stress(void **state)
{
	(void)state;
	struct task *t[READERS + WRITERS];

	a_val = b_val = 0;
	for (unsigned i = 0; i < READERS; i++)
		t[i] = host_task_spawn(stress_reader, NULL, i + 1, "reader");
	for (unsigned i = 0; i < WRITERS; i++)
		t[READERS + i] = host_task_spawn(stress_writer, NULL, READERS + i + 1, "writer");
	for (unsigned i = 0; i < READERS + WRITERS; i++)
		host_task_join(t[i]);
	assert_int_equal(torn, 0);
	assert_int_equal(a_val, (unsigned long)WRITERS * ITERS);
	assert_int_equal(b_val, (unsigned long)WRITERS * ITERS);
	assert_false(rwsem_is_locked(&sem));
	assert_false(rwsem_has_waiters(&sem));
}

static struct rw_semaphore dyn;

static void test_runtime_init(void **state)
{
	(void)state;
	init_rwsem(&dyn);
	down_write(&dyn);
	lockdep_assert_held(&dyn);
	up_write(&dyn);
	down_read(&dyn);
	up_read(&dyn);
}

/* down_write_abortable: a writer that gives up while queued leaves the
 * queue, and the readers it held back are let in at once (the reader still
 * holding is not disturbed); one that is granted returns 0 holding it. */
struct abortable {
	int abort;
	int ret;
};

static void abortable_fn(void *arg)
{
	struct abortable *a = arg;
	a->ret = down_write_abortable(&sem, &a->abort);
	if (a->ret == 0)
		up_write(&sem);
}

static void test_abortable_writer(void **state)
{
	(void)state;
	DECLARE_COMPLETION(release_r1);
	DECLARE_COMPLETION(release_r2);
	struct actor r1, r2;
	struct abortable a = { 0, 1 };

	actor_init(&r1, false, &release_r1);
	actor_init(&r2, false, &release_r2);
	struct task *t1 = host_task_spawn(actor_fn, &r1, 1, "r1");
	wait_for_completion(&r1.holding);
	struct task *tw = host_task_spawn(abortable_fn, &a, 2, "w");
	host_wait_until_sleeping(tw);
	struct task *t2 = host_task_spawn(actor_fn, &r2, 3, "r2");
	host_wait_until_sleeping(t2);
	assert_int_equal(got_at(&r2), 0);
	__atomic_store_n(&a.abort, 1, __ATOMIC_SEQ_CST);
	wake_up_task(tw);
	host_task_join(tw);
	assert_int_equal(a.ret, -1);
	wait_for_completion(&r2.holding);   /* in while r1 still holds */
	assert_int_equal(r1.released_at, 0);
	complete(&release_r1);
	complete(&release_r2);
	host_task_join(t1);
	host_task_join(t2);
	assert_false(rwsem_is_locked(&sem));
	assert_false(rwsem_has_waiters(&sem));

	/* Not contended: granted at once, abort flag never looked at. */
	a = (struct abortable){ 1, 1 };
	host_task_run(abortable_fn, &a, 1, "w2");
	assert_int_equal(a.ret, 0);
	assert_false(rwsem_is_locked(&sem));
}

int main(void)
{
	host_watchdog(300);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_readers_share, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_writer_excludes, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_waiting_writer_blocks_new_readers, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_readers_behind_writer_run_together, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_stress, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_runtime_init, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_abortable_writer, host_teardown_no_violations),
	};
	return cmocka_run_group_tests_name("rwsem", tests, NULL, NULL);
}

/*
 * Host tests for the per-CPU rw-semaphore (core/sync/percpu_rwsem.c) and the
 * CPU-hotplug lock built on it (core/sync/cpuhp_lock.c), on real threads
 * pinned to fake CPUs, under ThreadSanitizer: readers on different CPUs
 * share, a writer waits for readers and a pending writer blocks new readers
 * (deterministic), a reader may unlock on another CPU, writers exclude each
 * other, and a stress with migrating readers whose invariant a torn
 * critical section would break.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/completion.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/lockdep.h>
#include <vigil/percpu_rwsem.h>
#include <vigil/sched.h>

#include "host_sched.h"

static DEFINE_PERCPU_RWSEM(pcs);

static int seq;
static int stamp(void)
{
	return __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
}

struct actor {
	struct percpu_rw_semaphore *s;   /* NULL: the CPU-hotplug lock API */
	bool write;
	struct completion *hold_until;
	struct completion holding;
	int got_at, released_at;
	unsigned unlock_cpu;             /* 0: unlock where it locked */
};

static void actor_init(struct actor *a, struct percpu_rw_semaphore *s, bool write,
		       struct completion *hold_until)
{
	a->s = s;
	a->write = write;
	a->hold_until = hold_until;
	init_completion(&a->holding);
	a->got_at = a->released_at = 0;
	a->unlock_cpu = 0;
}

static void actor_fn(void *arg)
{
	struct actor *a = arg;

	if (!a->s)
		a->write ? cpus_write_lock() : cpus_read_lock();
	else
		a->write ? percpu_down_write(a->s) : percpu_down_read(a->s);
	__atomic_store_n(&a->got_at, stamp(), __ATOMIC_SEQ_CST);
	complete(&a->holding);
	if (a->hold_until)
		wait_for_completion(a->hold_until);
	if (a->unlock_cpu)
		host_task_set_cpu(a->unlock_cpu);
	__atomic_store_n(&a->released_at, stamp(), __ATOMIC_SEQ_CST);
	if (!a->s)
		a->write ? cpus_write_unlock() : cpus_read_unlock();
	else
		a->write ? percpu_up_write(a->s) : percpu_up_read(a->s);
}

static int got_at(struct actor *a)
{
	return __atomic_load_n(&a->got_at, __ATOMIC_SEQ_CST);
}

static void test_readers_share_across_cpus(void **state)
{
	(void)state;
	DECLARE_COMPLETION(release);
	struct actor r[3];
	struct task *t[3];

	for (int i = 0; i < 3; i++) {
		actor_init(&r[i], &pcs, false, &release);
		t[i] = host_task_spawn(actor_fn, &r[i], 1 + i, "reader");
		wait_for_completion(&r[i].holding);
	}
	assert_int_equal(percpu_rwsem_readers(&pcs), 3);
	assert_int_equal(pcs.count[1].readers, 1);
	assert_int_equal(pcs.count[3].readers, 1);
	assert_true(percpu_down_read_trylock(&pcs));
	percpu_up_read(&pcs);
	complete_all(&release);
	for (int i = 0; i < 3; i++)
		host_task_join(t[i]);
	assert_int_equal(percpu_rwsem_readers(&pcs), 0);
}

/* R1 holds; W waits for it; R2 arrives and must wait for W to finish. */
static void pending_writer_blocks_new_readers(struct percpu_rw_semaphore *s)
{
	DECLARE_COMPLETION(release_r1);
	struct actor r1, w, r2;

	actor_init(&r1, s, false, &release_r1);
	actor_init(&w, s, true, NULL);
	actor_init(&r2, s, false, NULL);
	struct task *t1 = host_task_spawn(actor_fn, &r1, 1, "r1");
	wait_for_completion(&r1.holding);
	struct task *tw = host_task_spawn(actor_fn, &w, 2, "w");
	host_wait_until_sleeping(tw);
	struct percpu_rw_semaphore *sem = s ? s : cpuhp_lock();
	assert_true(percpu_rwsem_writer_pending(sem));
	struct task *t2 = host_task_spawn(actor_fn, &r2, 3, "r2");
	host_wait_until_sleeping(t2);
	assert_int_equal(got_at(&w), 0);
	assert_int_equal(got_at(&r2), 0);
	assert_false(percpu_down_read_trylock(sem));

	complete(&release_r1);
	host_task_join(t1);
	host_task_join(tw);
	host_task_join(t2);
	assert_true(r1.released_at < w.got_at);
	assert_true(w.released_at < r2.got_at);
	assert_false(percpu_rwsem_writer_pending(sem));
	assert_int_equal(percpu_rwsem_readers(sem), 0);
}

static void test_pending_writer_blocks_new_readers(void **state)
{
	(void)state;
	pending_writer_blocks_new_readers(&pcs);
}

static void test_cpu_hotplug_lock_same_semantics(void **state)
{
	(void)state;
	pending_writer_blocks_new_readers(NULL);
}

static void test_reader_unlocks_on_another_cpu(void **state)
{
	(void)state;
	DECLARE_COMPLETION(release);
	struct actor r, w;

	actor_init(&r, &pcs, false, &release);
	r.unlock_cpu = 5;
	struct task *tr = host_task_spawn(actor_fn, &r, 4, "migrant");
	wait_for_completion(&r.holding);
	actor_init(&w, &pcs, true, NULL);
	struct task *tw = host_task_spawn(actor_fn, &w, 6, "w");
	host_wait_until_sleeping(tw);
	complete(&release);
	host_task_join(tr);
	host_task_join(tw);
	/* Locked on CPU 4, unlocked on CPU 5: only the sum is zero. */
	assert_int_equal(pcs.count[4].readers, 1);
	assert_int_equal(pcs.count[5].readers, -1);
	assert_int_equal(percpu_rwsem_readers(&pcs), 0);
	assert_true(r.released_at < w.got_at);
	/* And the writer path still works with the counters unbalanced. */
	percpu_down_write(&pcs);
	percpu_up_write(&pcs);
	/* Put the counters back for the other tests' assertions. */
	host_task_set_cpu(5);
	percpu_down_read(&pcs);
	host_task_set_cpu(4);
	percpu_up_read(&pcs);
	host_task_set_cpu(0);
	assert_int_equal(pcs.count[4].readers, 0);
	assert_int_equal(pcs.count[5].readers, 0);
}

static void test_writers_exclude_each_other(void **state)
{
	(void)state;
	DECLARE_COMPLETION(release);
	struct actor w1, w2;

	actor_init(&w1, &pcs, true, &release);
	actor_init(&w2, &pcs, true, NULL);
	struct task *t1 = host_task_spawn(actor_fn, &w1, 1, "w1");
	wait_for_completion(&w1.holding);
	struct task *t2 = host_task_spawn(actor_fn, &w2, 2, "w2");
	host_wait_until_sleeping(t2);
	assert_int_equal(got_at(&w2), 0);
	complete(&release);
	host_task_join(t1);
	host_task_join(t2);
	assert_true(w1.released_at < w2.got_at);
}

static void test_hotplug_lock_api(void **state)
{
	(void)state;
	cpus_read_lock();
	lockdep_assert_cpus_held();
	assert_true(percpu_rwsem_readers(cpuhp_lock()) == 1);
	cpus_read_unlock();
	assert_true(cpus_read_trylock());
	cpus_read_unlock();
	cpus_write_lock();
	lockdep_assert_cpus_held();
	assert_false(cpus_read_trylock());
	cpus_write_unlock();
	assert_int_equal(percpu_rwsem_readers(cpuhp_lock()), 0);
}

/* ---- stress ---- */

#define READERS 4
#define WRITERS 2
#define ITERS 3000

static unsigned long a_val, b_val;
static int torn;

static void stress_reader(void *arg)
{
	unsigned base = (unsigned)(uintptr_t)arg;

	for (int i = 0; i < ITERS; i++) {
		percpu_down_read(&pcs);
		if (a_val != b_val)
			__atomic_store_n(&torn, 1, __ATOMIC_SEQ_CST);
		/* Migrate while holding it now and then. */
		if ((i & 7) == 0)
			host_task_set_cpu(base + (unsigned)(i & 3));
		percpu_up_read(&pcs);
	}
}

static void stress_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS / 10; i++) {
		percpu_down_write(&pcs);
		a_val++;
		host_yield();
		b_val++;
		percpu_up_write(&pcs);
		host_yield();
	}
}

static void test_stress(void **state)
{
	(void)state;
	struct task *t[READERS + WRITERS];

	a_val = b_val = 0;
	for (unsigned i = 0; i < READERS; i++)
		t[i] = host_task_spawn(stress_reader, (void *)(uintptr_t)(8 + 4 * i), 8 + 4 * i, "reader");
	for (unsigned i = 0; i < WRITERS; i++)
		t[READERS + i] = host_task_spawn(stress_writer, NULL, 1 + i, "writer");
	for (unsigned i = 0; i < READERS + WRITERS; i++)
		host_task_join(t[i]);
	assert_int_equal(torn, 0);
	assert_int_equal(a_val, (unsigned long)WRITERS * (ITERS / 10));
	assert_int_equal(b_val, a_val);
	assert_int_equal(percpu_rwsem_readers(&pcs), 0);
	assert_false(percpu_rwsem_writer_pending(&pcs));
}

static struct percpu_rw_semaphore dyn;

static void test_runtime_init(void **state)
{
	(void)state;
	percpu_init_rwsem(&dyn);
	percpu_down_write(&dyn);
	lockdep_assert_held(&dyn);
	percpu_up_write(&dyn);
	percpu_down_read(&dyn);
	lockdep_assert_held(&dyn);
	percpu_up_read(&dyn);
}

int main(void)
{
	host_watchdog(300);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_readers_share_across_cpus, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_pending_writer_blocks_new_readers, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_cpu_hotplug_lock_same_semantics, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_reader_unlocks_on_another_cpu, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_writers_exclude_each_other, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_hotplug_lock_api, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_stress, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_runtime_init, host_teardown_no_violations),
	};
	return cmocka_run_group_tests_name("percpu_rwsem", tests, NULL, NULL);
}

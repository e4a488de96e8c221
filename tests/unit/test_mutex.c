/*
 * Host tests for sleeping mutexes (core/sync/mutex.c) on real threads under
 * ThreadSanitizer: mutual exclusion of a plain counter under contention
 * (tasks really sleep and are woken), the sleeping path deterministically,
 * every waiter eventually served, trylock and owner tracking.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/sched.h>

#include "host_sched.h"

#define TASKS 4
#define ITERS 5000

static DEFINE_MUTEX(m);
static unsigned long counter;   /* deliberately not atomic */

static void hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		mutex_lock(&m);
		unsigned long c = counter;
		if ((i & 63) == 0)
			host_yield();   /* hold it a while now and then: waiters sleep */
		counter = c + 1;
		mutex_unlock(&m);
	}
}

static void test_mutex_excludes(void **state)
{
	(void)state;
	struct task *t[TASKS];
	unsigned long sleeps = 0;

	counter = 0;
	for (unsigned i = 0; i < TASKS; i++)
		t[i] = host_task_spawn(hammer, NULL, i + 1, "hammer");
	for (unsigned i = 0; i < TASKS; i++) {
		host_task_join(t[i]);
		sleeps += host_task_sleeps(t[i]);
	}
	assert_int_equal(counter, (unsigned long)TASKS * ITERS);
	assert_false(mutex_is_locked(&m));
	print_message("mutex: %lu sleeps in %d lock operations\n", sleeps, TASKS * ITERS);
}

static int got;

static void lock_once(void *arg)
{
	(void)arg;
	mutex_lock(&m);
	__atomic_fetch_add(&got, 1, __ATOMIC_SEQ_CST);
	mutex_unlock(&m);
}

static void test_contended_lock_sleeps_until_unlock(void **state)
{
	(void)state;
	got = 0;
	mutex_lock(&m);
	assert_ptr_equal(mutex_owner(&m), current_task());
	struct task *t = host_task_spawn(lock_once, NULL, 1, "waiter");
	host_wait_until_sleeping(t);
	assert_int_equal(__atomic_load_n(&got, __ATOMIC_SEQ_CST), 0);
	mutex_unlock(&m);
	host_task_join(t);
	assert_int_equal(got, 1);
	assert_true(host_task_sleeps(t) >= 1);
}

static void test_every_waiter_is_served(void **state)
{
	(void)state;
	struct task *t[6];

	got = 0;
	mutex_lock(&m);
	for (unsigned i = 0; i < 6; i++)
		t[i] = host_task_spawn(lock_once, NULL, i + 1, "waiter");
	for (unsigned i = 0; i < 6; i++)
		host_wait_until_sleeping(t[i]);
	mutex_unlock(&m);
	for (unsigned i = 0; i < 6; i++)
		host_task_join(t[i]);
	assert_int_equal(got, 6);
}

static bool try_result;

static void try_once(void *arg)
{
	(void)arg;
	try_result = mutex_trylock(&m);
	if (try_result)
		mutex_unlock(&m);
}

static void test_trylock_and_owner(void **state)
{
	(void)state;
	assert_false(mutex_is_locked(&m));
	assert_null(mutex_owner(&m));
	assert_true(mutex_trylock(&m));
	assert_true(mutex_is_locked(&m));
	assert_ptr_equal(mutex_owner(&m), current_task());
	host_task_run(try_once, NULL, 1, "try");
	assert_false(try_result);
	lockdep_assert_held(&m);
	mutex_unlock(&m);
	host_task_run(try_once, NULL, 1, "try");
	assert_true(try_result);
}

static struct mutex dyn[3];

static void test_runtime_init(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		mutex_init(&dyn[i]);
	mutex_lock(&dyn[0]);
	mutex_lock_nested(&dyn[1], 1);
	mutex_lock_nested(&dyn[2], 2);
	mutex_unlock(&dyn[2]);
	mutex_unlock(&dyn[1]);
	mutex_unlock(&dyn[0]);
}

int main(void)
{
	host_watchdog(300);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_mutex_excludes, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_contended_lock_sleeps_until_unlock, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_every_waiter_is_served, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_trylock_and_owner, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_runtime_init, host_teardown_no_violations),
	};
	return cmocka_run_group_tests_name("mutex", tests, NULL, NULL);
}

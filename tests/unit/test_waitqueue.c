/*
 * Host tests for wait queues (core/sync/waitqueue.c) on real threads under
 * ThreadSanitizer: no lost wake-up in long ping-pong and token-ring stresses
 * (a lost one hangs; the watchdog fails the run), wake_up_one wakes exactly
 * one waiter, wake_up_all wakes every waiter, and a condition already true
 * never sleeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/atomic.h>
#include <vigil/lockdep.h>
#include <vigil/sched.h>
#include <vigil/waitqueue.h>

#include "host_sched.h"

static DECLARE_WAIT_QUEUE_HEAD(wq);

/* ---- ping-pong: two tasks hand a turn back and forth ---- */

#define ROUNDS 20000

static int turn;   /* whose turn: 0 or 1 */
static unsigned long work;   /* only touched by the task whose turn it is */

struct player {
	int me;
	bool one;   /* wake_up_one rather than wake_up_all */
};

static void player_fn(void *arg)
{
	struct player *p = arg;

	for (int i = 0; i < ROUNDS; i++) {
		wait_event(&wq, smp_load_acquire(&turn) == p->me);
		work++;
		smp_store_release(&turn, 1 - p->me);
		if (p->one)
			wake_up_one(&wq);
		else
			wake_up_all(&wq);
	}
}

static void ping_pong(bool one)
{
	struct player p0 = { 0, one }, p1 = { 1, one };

	turn = 0;
	work = 0;
	struct task *t0 = host_task_spawn(player_fn, &p0, 1, "ping");
	struct task *t1 = host_task_spawn(player_fn, &p1, 2, "pong");
	host_task_join(t0);
	host_task_join(t1);
	assert_int_equal(work, 2UL * ROUNDS);
	print_message("waitqueue: %lu + %lu sleeps in %d rounds\n", host_task_sleeps(t0),
		      host_task_sleeps(t1), ROUNDS);
}

static void test_ping_pong_wake_all(void **state)
{
	(void)state;
	ping_pong(false);
}

static void test_ping_pong_wake_one(void **state)
{
	(void)state;
	ping_pong(true);
}

/* ---- a token passed around a ring of tasks sharing one queue ---- */

#define RING 4
#define LAPS 3000

static int token;

static void ring_fn(void *arg)
{
	int me = (int)(uintptr_t)arg;

	for (int i = 0; i < LAPS; i++) {
		wait_event(&wq, smp_load_acquire(&token) == me);
		work++;
		smp_store_release(&token, (me + 1) % RING);
		/* wake_up_one could wake the wrong task: all must look. */
		wake_up_all(&wq);
	}
}

static void test_token_ring(void **state)
{
	(void)state;
	struct task *t[RING];

	token = 0;
	work = 0;
	for (int i = 0; i < RING; i++)
		t[i] = host_task_spawn(ring_fn, (void *)(uintptr_t)i, 1 + (unsigned)i, "ring");
	for (int i = 0; i < RING; i++)
		host_task_join(t[i]);
	assert_int_equal(work, (unsigned long)RING * LAPS);
	assert_false(waitqueue_active(&wq));
}

/* ---- wake_up_one / wake_up_all counts ---- */

static int tokens;
static int finished;

static bool take_token(void)
{
	int n = __atomic_load_n(&tokens, __ATOMIC_SEQ_CST);

	while (n > 0) {
		if (__atomic_compare_exchange_n(&tokens, &n, n - 1, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return true;
	}
	return false;
}

static void consumer(void *arg)
{
	(void)arg;
	wait_event(&wq, take_token());
	__atomic_fetch_add(&finished, 1, __ATOMIC_SEQ_CST);
}

static int finished_now(void)
{
	return __atomic_load_n(&finished, __ATOMIC_SEQ_CST);
}

static void test_wake_up_one_wakes_one(void **state)
{
	(void)state;
	struct task *t[3];

	tokens = 0;
	finished = 0;
	for (int i = 0; i < 3; i++) {
		t[i] = host_task_spawn(consumer, NULL, 1 + (unsigned)i, "consumer");
		host_wait_until_sleeping(t[i]);
	}
	assert_true(waitqueue_active(&wq));
	__atomic_store_n(&tokens, 1, __ATOMIC_SEQ_CST);
	assert_int_equal(wake_up_one(&wq), 1);
	for (int i = 0; i < 5000 && finished_now() < 1; i++)
		host_msleep(1);
	host_msleep(20);
	assert_int_equal(finished_now(), 1);
	__atomic_store_n(&tokens, 2, __ATOMIC_SEQ_CST);
	assert_int_equal(wake_up_all(&wq), 2);
	for (int i = 0; i < 3; i++)
		host_task_join(t[i]);
	assert_int_equal(finished, 3);
	assert_false(waitqueue_active(&wq));
}

static int flag;

static void flag_waiter(void *arg)
{
	(void)arg;
	wait_event(&wq, smp_load_acquire(&flag));
	__atomic_fetch_add(&finished, 1, __ATOMIC_SEQ_CST);
}

static void test_wake_up_all_wakes_all(void **state)
{
	(void)state;
	struct task *t[5];

	flag = 0;
	finished = 0;
	for (int i = 0; i < 5; i++) {
		t[i] = host_task_spawn(flag_waiter, NULL, 1 + (unsigned)i, "waiter");
		host_wait_until_sleeping(t[i]);
	}
	smp_store_release(&flag, 1);
	assert_int_equal(wake_up_all(&wq), 5);
	for (int i = 0; i < 5; i++)
		host_task_join(t[i]);
	assert_int_equal(finished, 5);
	assert_int_equal(wake_up_all(&wq), 0);
}

static void test_true_condition_does_not_sleep(void **state)
{
	(void)state;
	flag = 1;
	struct task *t = host_task_spawn(flag_waiter, NULL, 1, "waiter");
	host_task_join(t);
	assert_int_equal(host_task_sleeps(t), 0);

	struct wait_queue_head local;
	init_waitqueue_head(&local);
	assert_false(wq_has_sleeper(&local));
	wait_event(&local, 1);
}

int main(void)
{
	host_watchdog(300);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ping_pong_wake_all, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_ping_pong_wake_one, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_token_ring, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_wake_up_one_wakes_one, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_wake_up_all_wakes_all, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_true_condition_does_not_sleep, host_teardown_no_violations),
	};
	return cmocka_run_group_tests_name("waitqueue", tests, NULL, NULL);
}

/*
 * Host tests for completions (core/sync/completion.c) on real threads under
 * ThreadSanitizer: complete before wait, counting, try_wait and reinit,
 * complete() wakes exactly one waiter, complete_all() wakes every waiter,
 * and a producer/consumer stress in which a lost wake-up would hang (the
 * watchdog turns a hang into a failure).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/completion.h>
#include <vigil/lockdep.h>
#include <vigil/sched.h>

#include "host_sched.h"

static DECLARE_COMPLETION(done);

static void test_complete_before_wait(void **state)
{
	(void)state;
	reinit_completion(&done);
	assert_false(completion_done(&done));
	assert_false(try_wait_for_completion(&done));
	complete(&done);
	assert_true(completion_done(&done));
	wait_for_completion(&done);   /* returns at once: the event stayed */
	assert_false(completion_done(&done));
	assert_false(try_wait_for_completion(&done));
}

static void test_events_are_counted(void **state)
{
	(void)state;
	reinit_completion(&done);
	for (int i = 0; i < 3; i++)
		complete(&done);
	for (int i = 0; i < 3; i++)
		assert_true(try_wait_for_completion(&done));
	assert_false(try_wait_for_completion(&done));
}

static int finished;

static void waiter(void *arg)
{
	wait_for_completion(arg);
	__atomic_fetch_add(&finished, 1, __ATOMIC_SEQ_CST);
}

static int finished_now(void)
{
	return __atomic_load_n(&finished, __ATOMIC_SEQ_CST);
}

static void test_complete_wakes_one(void **state)
{
	(void)state;
	struct completion c;
	struct task *t[3];

	init_completion(&c);
	finished = 0;
	for (int i = 0; i < 3; i++) {
		t[i] = host_task_spawn(waiter, &c, 1 + i, "waiter");
		host_wait_until_sleeping(t[i]);
	}
	complete(&c);
	for (int i = 0; i < 5000 && finished_now() < 1; i++)
		host_msleep(1);
	host_msleep(20);
	assert_int_equal(finished_now(), 1);
	complete(&c);
	complete(&c);
	for (int i = 0; i < 3; i++)
		host_task_join(t[i]);
	assert_int_equal(finished, 3);
}

static void test_complete_all_wakes_all(void **state)
{
	(void)state;
	struct completion c;
	struct task *t[5];

	init_completion(&c);
	finished = 0;
	for (int i = 0; i < 5; i++) {
		t[i] = host_task_spawn(waiter, &c, 1 + i, "waiter");
		host_wait_until_sleeping(t[i]);
	}
	complete_all(&c);
	for (int i = 0; i < 5; i++)
		host_task_join(t[i]);
	assert_int_equal(finished, 5);
	/* Stays done for later waiters, until reinit. */
	wait_for_completion(&c);
	assert_true(try_wait_for_completion(&c));
	assert_true(completion_done(&c));
	reinit_completion(&c);
	assert_false(try_wait_for_completion(&c));
}

/* ---- ping-pong stress ---- */

#define ROUNDS 20000

static DECLARE_COMPLETION(ping);
static DECLARE_COMPLETION(pong);
static unsigned long ball;   /* handed over by the completions, not atomic */

static void ponger(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		wait_for_completion(&ping);
		ball++;
		complete(&pong);
	}
}

static void test_ping_pong(void **state)
{
	(void)state;
	reinit_completion(&ping);
	reinit_completion(&pong);
	ball = 0;
	struct task *t = host_task_spawn(ponger, NULL, 1, "ponger");
	for (int i = 0; i < ROUNDS; i++) {
		ball++;
		complete(&ping);
		wait_for_completion(&pong);
	}
	host_task_join(t);
	assert_int_equal(ball, 2UL * ROUNDS);
	print_message("completion: ponger slept %lu times in %d rounds\n", host_task_sleeps(t),
		      ROUNDS);
}

static void complete_from_irq(void *arg)
{
	host_msleep(5);
	host_irq_enter();   /* complete() is allowed in interrupt context */
	complete(arg);
	host_irq_exit();
}

static void test_complete_from_interrupt(void **state)
{
	(void)state;
	struct completion c;

	init_completion(&c);
	struct task *t = host_task_spawn(complete_from_irq, &c, 1, "irq");
	wait_for_completion(&c);
	host_task_join(t);
}

int main(void)
{
	host_watchdog(300);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_complete_before_wait, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_events_are_counted, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_complete_wakes_one, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_complete_all_wakes_all, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_ping_pong, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_complete_from_interrupt, host_teardown_no_violations),
	};
	return cmocka_run_group_tests_name("completion", tests, NULL, NULL);
}

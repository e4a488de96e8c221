/*
 * The registration interfaces that let a subsystem (virtualization today)
 * own its life cycle instead of being called by name:
 *  - syscore ops: suspend in reverse registration order, resume in order;
 *    an unregistered one is skipped; registering twice is refused; the
 *    first resume problem is reported.
 *  - reboot notifiers: higher priority first, ties in registration order;
 *    removal; double registration refused.
 *  - emergency callbacks: a full table refuses; the walk's answer is the
 *    worst one; walks on several CPUs at once while a callback is being
 *    unregistered never call it after unregister returns (the grace period
 *    the NMI path relies on), under ThreadSanitizer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/arch.h>
#include <vigil/emergency.h>
#include <vigil/reboot.h>
#include <vigil/string.h>
#include <vigil/syscore.h>

#include "host_sched.h"

static char trace[128];

static void note(const char *s)
{
	strncat(trace, s, sizeof(trace) - strlen(trace) - 1);
}

/* ---- syscore ---- */

static void a_suspend(void) { note("sa "); }
static void a_resume(void) { note("ra "); }
static void b_suspend(void) { note("sb "); }
static void b_resume(void) { note("rb "); }
static void c_suspend(void) { note("sc "); }
static bool b_problem(char *why, size_t len)
{
	strlcpy(why, "b came back degraded", len);
	return true;
}

static struct syscore_ops sa = { .name = "a", .suspend = a_suspend, .resume = a_resume };
static struct syscore_ops sb = { .name = "b", .suspend = b_suspend, .resume = b_resume, .resume_problem = b_problem };
static struct syscore_ops sc = { .name = "c", .suspend = c_suspend };   /* no resume */

static void syscore_walks(void *arg)
{
	(void)arg;
	unsigned long flags = arch_irq_save();
	syscore_suspend();
	syscore_resume();
	arch_irq_restore(flags);
}

static void syscore_task(void *arg)
{
	(void)arg;
	char why[64] = "";
	assert_int_equal(register_syscore_ops(&sa), 0);
	assert_int_equal(register_syscore_ops(&sb), 0);
	assert_int_equal(register_syscore_ops(&sc), 0);
	assert_int_equal(register_syscore_ops(&sb), -1);   /* already there */
	trace[0] = 0;
	syscore_walks(NULL);
	assert_string_equal(trace, "sc sb sa ra rb ");
	assert_true(syscore_resume_problem(why, sizeof(why)));
	assert_string_equal(why, "b came back degraded");

	unregister_syscore_ops(&sb);
	unregister_syscore_ops(&sb);   /* harmless */
	trace[0] = 0;
	syscore_walks(NULL);
	assert_string_equal(trace, "sc sa ra ");
	why[0] = 0;
	assert_false(syscore_resume_problem(why, sizeof(why)));
	assert_int_equal(register_syscore_ops(&sb), 0);   /* back, now last */
	trace[0] = 0;
	syscore_walks(NULL);
	assert_string_equal(trace, "sb sc sa ra rb ");
	unregister_syscore_ops(&sa);
	unregister_syscore_ops(&sb);
	unregister_syscore_ops(&sc);
	trace[0] = 0;
	syscore_walks(NULL);
	assert_string_equal(trace, "");
}

static void test_syscore_order_and_removal(void **state)
{
	(void)state;
	host_task_run(syscore_task, NULL, 0, "syscore");
}

/* ---- reboot notifiers ---- */

static const char *last_action;
static void n_low(const char *a) { last_action = a; note("low "); }
static void n_mid1(const char *a) { last_action = a; note("mid1 "); }
static void n_mid2(const char *a) { last_action = a; note("mid2 "); }
static void n_high(const char *a) { last_action = a; note("high "); }

static struct reboot_notifier low = { .name = "low", .priority = -5, .notify = n_low };
static struct reboot_notifier mid1 = { .name = "mid1", .priority = 0, .notify = n_mid1 };
static struct reboot_notifier mid2 = { .name = "mid2", .priority = 0, .notify = n_mid2 };
static struct reboot_notifier high = { .name = "high", .priority = 10, .notify = n_high };

static void reboot_task(void *arg)
{
	(void)arg;
	assert_int_equal(register_reboot_notifier(&mid1), 0);
	assert_int_equal(register_reboot_notifier(&low), 0);
	assert_int_equal(register_reboot_notifier(&high), 0);
	assert_int_equal(register_reboot_notifier(&mid2), 0);
	assert_int_equal(register_reboot_notifier(&mid1), -1);
	trace[0] = 0;
	assert_int_equal(reboot_notify("poweroff"), 4);
	assert_string_equal(trace, "high mid1 mid2 low ");
	assert_string_equal(last_action, "poweroff");
	unregister_reboot_notifier(&mid1);
	unregister_reboot_notifier(&high);
	trace[0] = 0;
	assert_int_equal(reboot_notify("reboot"), 2);
	assert_string_equal(trace, "mid2 low ");
	assert_string_equal(last_action, "reboot");
	unregister_reboot_notifier(&mid2);
	unregister_reboot_notifier(&low);
	assert_int_equal(reboot_notify("reboot"), 0);
}

static void test_reboot_notifier_priority_and_removal(void **state)
{
	(void)state;
	host_task_run(reboot_task, NULL, 0, "reboot");
}

/* ---- emergency callbacks ---- */

static int e_off(void) { return 0; }
static int e_on(void) { return 1; }
static int e_none(void) { return -1; }
static int e_extra(void) { return 0; }
static int e_slow_unused(void) { return 0; }

static void emergency_table_task(void *arg)
{
	(void)arg;
	assert_int_equal(emergency_callbacks_run(), -1);   /* empty */
	assert_int_equal(register_emergency_callback(e_none), 0);
	assert_int_equal(emergency_callbacks_run(), -1);
	assert_int_equal(register_emergency_callback(e_off), 0);
	assert_int_equal(emergency_callbacks_run(), 0);
	assert_int_equal(register_emergency_callback(e_on), 0);
	assert_int_equal(emergency_callbacks_run(), 1);    /* the worst answer */
	assert_int_equal(register_emergency_callback(e_on), -1);
	assert_int_equal(register_emergency_callback(e_extra), 0);
	_Static_assert(EMERGENCY_MAX_CALLBACKS == 4, "the table below fills 4 slots");
	assert_int_equal(register_emergency_callback(e_slow_unused), -1);   /* full */
	unregister_emergency_callback(e_on);
	assert_int_equal(emergency_callbacks_run(), 0);
	unregister_emergency_callback(e_off);
	unregister_emergency_callback(e_extra);
	unregister_emergency_callback(e_none);
	assert_int_equal(emergency_callbacks_run(), -1);
}

static void test_emergency_table(void **state)
{
	(void)state;
	host_task_run(emergency_table_task, NULL, 0, "emergency");
}

/* Walkers on three CPUs call the walk as fast as they can (as NMIs would:
 * it takes no lock); a slow callback is unregistered under them.  Once
 * unregister returns, nobody may be inside it or enter it. */
static volatile int inside_slow;        /* atomic */
static volatile bool slow_gone;         /* atomic: unregister returned */
static volatile bool stop_walkers;      /* atomic */
static unsigned long after_gone;        /* atomic: calls after unregister returned */
static unsigned long slow_calls;        /* atomic */
static unsigned long inside_after_unregister;   /* the unregistering task's */

static int e_slow(void)
{
	__atomic_add_fetch(&inside_slow, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&slow_gone, __ATOMIC_SEQ_CST))
		__atomic_add_fetch(&after_gone, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&slow_calls, 1, __ATOMIC_RELAXED);
	for (volatile int i = 0; i < 20000; i++)
		;
	__atomic_sub_fetch(&inside_slow, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void walker(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_walkers, __ATOMIC_SEQ_CST))
		emergency_callbacks_run();
}

static void unregister_under_walkers(void *arg)
{
	(void)arg;
	for (int round = 0; round < 50; round++) {
		__atomic_store_n(&slow_gone, false, __ATOMIC_SEQ_CST);
		assert_int_equal(register_emergency_callback(e_slow), 0);
		/* Let the walkers get into it. */
		unsigned long seen = __atomic_load_n(&slow_calls, __ATOMIC_RELAXED);
		while (__atomic_load_n(&slow_calls, __ATOMIC_RELAXED) < seen + 3)
			host_yield();
		unregister_emergency_callback(e_slow);
		/* The grace period: nobody is inside any more. */
		if (__atomic_load_n(&inside_slow, __ATOMIC_SEQ_CST))
			inside_after_unregister++;
		__atomic_store_n(&slow_gone, true, __ATOMIC_SEQ_CST);
		for (volatile int i = 0; i < 50000; i++)
			;
	}
	__atomic_store_n(&stop_walkers, true, __ATOMIC_SEQ_CST);
}

static void test_emergency_walk_concurrent_with_unregister(void **state)
{
	(void)state;
	struct task *w[3];
	for (unsigned i = 0; i < 3; i++)
		w[i] = host_task_spawn(walker, NULL, i + 1, "walker");
	host_task_run(unregister_under_walkers, NULL, 0, "unregister");
	for (unsigned i = 0; i < 3; i++)
		host_task_join(w[i]);
	assert_int_equal(inside_after_unregister, 0);
	assert_int_equal(after_gone, 0);
	assert_true(slow_calls >= 150);
}

int main(void)
{
	host_watchdog(240);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syscore_order_and_removal),
		cmocka_unit_test(test_reboot_notifier_priority_and_removal),
		cmocka_unit_test(test_emergency_table),
		cmocka_unit_test(test_emergency_walk_concurrent_with_unregister),
	};
	return cmocka_run_group_tests_name("lifecycle_hooks", tests, NULL, NULL);
}

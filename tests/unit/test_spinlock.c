/*
 * Host tests for spinlocks (include/vigil/spinlock.h, core/sync/spinlock.c)
 * on real threads under ThreadSanitizer: mutual exclusion of a plain
 * (non-atomic) counter under contention for the raw, lockdep-tracked and
 * irqsave forms, also with two tasks sharing one CPU; trylock; the
 * preemption and interrupt state while a lock is held.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/arch.h>
#include <vigil/lockdep.h>
#include <vigil/sched.h>
#include <vigil/spinlock.h>

#include "host_sched.h"

#define TASKS 4
#define ITERS 20000

static DEFINE_SPINLOCK(lock);
static DEFINE_RAW_SPINLOCK(raw);
static unsigned long counter;   /* deliberately not atomic */

enum variant { V_SPIN, V_IRQSAVE, V_RAW, V_RAW_IRQSAVE, V_TRY };

static void hammer(void *arg)
{
	enum variant v = (enum variant)(uintptr_t)arg;
	unsigned long flags;

	for (int i = 0; i < ITERS; i++) {
		switch (v) {
		case V_SPIN:
			spin_lock(&lock);
			counter++;
			spin_unlock(&lock);
			break;
		case V_IRQSAVE:
			spin_lock_irqsave(&lock, flags);
			counter++;
			spin_unlock_irqrestore(&lock, flags);
			break;
		case V_RAW:
			raw_spin_lock(&raw);
			counter++;
			raw_spin_unlock(&raw);
			break;
		case V_RAW_IRQSAVE:
			raw_spin_lock_irqsave(&raw, flags);
			counter++;
			raw_spin_unlock_irqrestore(&raw, flags);
			break;
		case V_TRY:
			while (!spin_trylock(&lock))
				cpu_relax();
			counter++;
			spin_unlock(&lock);
			break;
		}
	}
}

static void run_tasks(enum variant a, enum variant b, const unsigned *cpus)
{
	struct task *t[TASKS];

	counter = 0;
	for (unsigned i = 0; i < TASKS; i++)
		t[i] = host_task_spawn(hammer, (void *)(uintptr_t)(i & 1 ? b : a), cpus[i], "hammer");
	for (unsigned i = 0; i < TASKS; i++)
		host_task_join(t[i]);
	assert_int_equal(counter, (unsigned long)TASKS * ITERS);
	assert_false(spin_is_locked(&lock));
	assert_false(raw_spin_is_locked(&raw));
}

static const unsigned own_cpus[TASKS] = { 1, 2, 3, 4 };
static const unsigned shared_cpus[TASKS] = { 1, 1, 2, 2 };

static void test_spin_lock_excludes(void **state)
{
	(void)state;
	run_tasks(V_SPIN, V_IRQSAVE, own_cpus);
}

static void test_spin_lock_excludes_tasks_sharing_a_cpu(void **state)
{
	(void)state;
	run_tasks(V_SPIN, V_IRQSAVE, shared_cpus);
}

static void test_raw_spin_lock_excludes(void **state)
{
	(void)state;
	run_tasks(V_RAW, V_RAW_IRQSAVE, own_cpus);
}

static void test_trylock_loop_excludes(void **state)
{
	(void)state;
	run_tasks(V_TRY, V_SPIN, own_cpus);
}

static bool try_result;

static void try_once(void *arg)
{
	(void)arg;
	try_result = spin_trylock(&lock);
	if (try_result)
		spin_unlock(&lock);
}

static void test_trylock(void **state)
{
	(void)state;
	spin_lock(&lock);
	assert_true(spin_is_locked(&lock));
	host_task_run(try_once, NULL, 1, "try");
	assert_false(try_result);
	spin_unlock(&lock);
	host_task_run(try_once, NULL, 1, "try");
	assert_true(try_result);

	unsigned long flags;
	assert_true(spin_trylock_irqsave(&lock, flags));
	assert_false(arch_irqs_enabled());
	spin_unlock_irqrestore(&lock, flags);
	assert_true(arch_irqs_enabled());

	assert_true(raw_spin_trylock(&raw));
	assert_false(raw_spin_trylock(&raw));
	raw_spin_unlock(&raw);
	assert_int_equal(preempt_count(), 0);
}

static void test_preemption_and_irq_state(void **state)
{
	(void)state;
	unsigned long f1, f2;

	spin_lock(&lock);
	assert_int_equal(preempt_count(), 1);
	assert_true(in_atomic());
	lockdep_assert_held(&lock);
	spin_unlock(&lock);
	assert_int_equal(preempt_count(), 0);
	assert_false(in_atomic());

	/* Nested irqsave: the inner restore must leave interrupts off. */
	spin_lock_irqsave(&lock, f1);
	assert_false(arch_irqs_enabled());
	raw_spin_lock_irqsave(&raw, f2);
	assert_int_equal(preempt_count(), 2);
	raw_spin_unlock_irqrestore(&raw, f2);
	assert_false(arch_irqs_enabled());
	spin_unlock_irqrestore(&lock, f1);
	assert_true(arch_irqs_enabled());
	assert_int_equal(preempt_count(), 0);

	struct lockdep_stats st;
	lockdep_get_stats(&st);
	assert_int_equal(st.violations, 0);
}

int main(void)
{
	host_watchdog(300);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_spin_lock_excludes, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_spin_lock_excludes_tasks_sharing_a_cpu, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_raw_spin_lock_excludes, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_trylock_loop_excludes, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_trylock, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_preemption_and_irq_state, host_teardown_no_violations),
	};
	return cmocka_run_group_tests_name("spinlock", tests, NULL, NULL);
}

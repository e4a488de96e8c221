/*
 * Host tests for lockdep (core/lockdep/) with the real locks of core/sync on
 * host threads: a planted AB-BA cycle is reported exactly once, naming both
 * locks and showing both chains; a three-lock cycle; the same order repeated
 * is quiet; trylocks add no edge; recursive locking (and the _nested way
 * out); might_sleep in atomic context; the assertions; bad unlocks; locks
 * held at task exit; expect windows; lockdep=off; the cycle around
 * the CPU-hotplug lock.
 *
 * Lockdep's state is global for the binary, so every test uses its own locks
 * (hence its own classes) and checks counter deltas.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/arch.h>
#include <vigil/cmdline.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/percpu_rwsem.h>
#include <vigil/rwsem.h>
#include <vigil/spinlock.h>
#include <vigil/string.h>

#include "host_sched.h"

static struct lockdep_stats before;

static void mark(void)
{
	lockdep_get_stats(&before);
	host_console_clear();
}

static unsigned new_violations(void)
{
	struct lockdep_stats now;

	lockdep_get_stats(&now);
	return now.violations - before.violations;
}

static unsigned new_deps(void)
{
	struct lockdep_stats now;

	lockdep_get_stats(&now);
	return now.deps - before.deps;
}

/* The kept line of the most recent violation. */
static const char *last_line(void)
{
	static char line[LOCKDEP_SUMMARY_MAX];
	struct lockdep_stats st;

	lockdep_get_stats(&st);
	assert_true(st.kept > 0);
	assert_true(lockdep_violation_line(st.kept - 1, line, sizeof(line)));
	return line;
}

static void expect_console(const char *s)
{
	if (!host_console_count(s)) {
		host_console_dump();
		fail_msg("console lacks \"%s\"", s);
	}
}

static int setup(void **state)
{
	(void)state;
	host_console_clear();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* No test may leave the main task holding locks or non-preemptible. */
	assert_int_equal(lockdep_current()->depth, 0);
	assert_int_equal(preempt_count(), 0);
	assert_true(arch_irqs_enabled());
	return 0;
}

/* ---- AB-BA ---- */

static DEFINE_MUTEX(abba_a);
static DEFINE_MUTEX(abba_b);

static void take_ab(void *arg)
{
	(void)arg;
	mutex_lock(&abba_a);
	mutex_lock(&abba_b);     /* first seen here: abba_a -> abba_b */
	mutex_unlock(&abba_b);
	mutex_unlock(&abba_a);
}

static void take_ba(void *arg)
{
	(void)arg;
	mutex_lock(&abba_b);
	mutex_lock(&abba_a);     /* closes the cycle */
	mutex_unlock(&abba_a);
	mutex_unlock(&abba_b);
}

static void test_abba_reported_once_with_both_chains(void **state)
{
	(void)state;
	mark();
	host_task_run(take_ab, NULL, 1, "t_ab");
	assert_int_equal(new_violations(), 0);
	assert_int_equal(new_deps(), 1);

	/* Sequential: it never deadlocks, yet the inverse order is reported
	 * the first time it is seen. */
	host_task_run(take_ba, NULL, 2, "t_ba");
	assert_int_equal(new_violations(), 1);
	assert_int_equal(host_console_count("possible circular locking dependency detected"), 1);
	/* Chain 1: the acquisition now, with the held stack and sites. */
	expect_console("task t_ba/");
	expect_console("on cpu 2 is trying to acquire abba_a at tests/unit/test_lockdep.c:");
	expect_console("#0: abba_b at tests/unit/test_lockdep.c:");
	expect_console("new dependency: abba_b -> abba_a");
	/* Chain 2: the existing path, with where it was first seen. */
	expect_console("existing dependency chain abba_a -> ... -> abba_b");
	expect_console("abba_a -> abba_b: first seen in t_ab/");
	expect_console("on cpu 1, which took abba_b at tests/unit/test_lockdep.c:");
	expect_console("while holding abba_a (taken at tests/unit/test_lockdep.c:");
	expect_console("this task:  holds abba_b, waits for abba_a");
	const char *l = last_line();
	assert_non_null(strstr(l, "kind=cycle locks=abba_b,abba_a task=t_ba site=tests/unit/test_lockdep.c:"));

	/* Once: both orders again, in both tasks, are quiet now. */
	host_task_run(take_ba, NULL, 2, "t_ba");
	host_task_run(take_ab, NULL, 1, "t_ab");
	take_ab(NULL);
	assert_int_equal(new_violations(), 1);
	assert_int_equal(host_console_count("possible circular locking dependency detected"), 1);
}

/* ---- three locks, spinlocks ---- */

static DEFINE_SPINLOCK(tl_x);
static DEFINE_SPINLOCK(tl_y);
static DEFINE_SPINLOCK(tl_z);

static void take_pair(spinlock_t *first, spinlock_t *second)
{
	spin_lock(first);
	spin_lock(second);
	spin_unlock(second);
	spin_unlock(first);
}

static void take_xy(void *arg) { (void)arg; take_pair(&tl_x, &tl_y); }
static void take_yz(void *arg) { (void)arg; take_pair(&tl_y, &tl_z); }
static void take_zx(void *arg) { (void)arg; take_pair(&tl_z, &tl_x); }

static void test_three_lock_cycle(void **state)
{
	(void)state;
	mark();
	host_task_run(take_xy, NULL, 1, "t_xy");
	host_task_run(take_yz, NULL, 2, "t_yz");
	assert_int_equal(new_violations(), 0);
	host_task_run(take_zx, NULL, 3, "t_zx");
	assert_int_equal(new_violations(), 1);
	expect_console("trying to acquire tl_x");
	expect_console("new dependency: tl_z -> tl_x");
	expect_console("existing dependency chain tl_x -> ... -> tl_z");
	expect_console("tl_x -> tl_y: first seen in t_xy/");
	expect_console("tl_y -> tl_z: first seen in t_yz/");
	expect_console("possible deadlock: 3 tasks");
	assert_non_null(strstr(last_line(), "kind=cycle locks=tl_z,tl_x,tl_y task=t_zx "));
	host_task_run(take_zx, NULL, 3, "t_zx");
	assert_int_equal(new_violations(), 1);
}

/* ---- the same order, many times, many tasks ---- */

static DEFINE_MUTEX(so_a);
static DEFINE_MUTEX(so_b);
static DEFINE_SPINLOCK(so_c);

static void same_order(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++) {
		mutex_lock(&so_a);
		mutex_lock(&so_b);
		spin_lock(&so_c);
		spin_unlock(&so_c);
		mutex_unlock(&so_b);
		mutex_unlock(&so_a);
	}
}

static void test_same_order_is_quiet(void **state)
{
	(void)state;
	mark();
	struct task *t[4];
	for (unsigned i = 0; i < 4; i++)
		t[i] = host_task_spawn(same_order, NULL, i + 1, "t_same");
	for (unsigned i = 0; i < 4; i++)
		host_task_join(t[i]);
	assert_int_equal(new_violations(), 0);
	assert_int_equal(new_deps(), 3);   /* a->b, a->c, b->c */
	assert_int_equal(host_console_count("lockdep:"), 0);
}

/* ---- trylock ---- */

static DEFINE_MUTEX(try_a);
static DEFINE_SPINLOCK(try_b);

static void test_trylock_adds_no_edge(void **state)
{
	(void)state;
	mark();
	mutex_lock(&try_a);
	assert_true(spin_trylock(&try_b));   /* no try_a -> try_b */
	spin_unlock(&try_b);
	mutex_unlock(&try_a);
	assert_int_equal(new_deps(), 0);
	spin_lock(&try_b);
	assert_true(mutex_trylock(&try_a));  /* nor try_b -> try_a */
	mutex_unlock(&try_a);
	spin_unlock(&try_b);
	assert_int_equal(new_deps(), 0);
	/* A lock taken while a trylocked one is held does depend on it. */
	mutex_lock(&try_a);
	mutex_unlock(&try_a);
	assert_int_equal(new_violations(), 0);
}

/* ---- recursion ---- */

static struct mutex rec_m[2];

static void test_recursive_same_class(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		mutex_init(&rec_m[i]);   /* one init site: one class */
	mark();
	mutex_lock(&rec_m[0]);
	mutex_lock(&rec_m[1]);
	mutex_unlock(&rec_m[1]);
	mutex_unlock(&rec_m[0]);
	assert_int_equal(new_violations(), 1);
	expect_console("possible recursive locking detected");
	expect_console("trying to acquire &rec_m[i] at tests/unit/test_lockdep.c:");
	assert_non_null(strstr(last_line(), "kind=recursive locks=&rec_m[i] task=main "));

	/* Deliberate nesting with a subclass: quiet.  And the class is
	 * reported once, not on every recursion. */
	mutex_lock(&rec_m[0]);
	mutex_lock_nested(&rec_m[1], 1);
	mutex_unlock(&rec_m[1]);
	mutex_lock(&rec_m[1]);
	mutex_unlock(&rec_m[1]);
	mutex_unlock(&rec_m[0]);
	assert_int_equal(new_violations(), 1);
}

static void test_recursive_read_of_hotplug_lock(void **state)
{
	(void)state;
	mark();
	cpus_read_lock();
	lockdep_assert_cpus_held();
	/* Deadlocks if a hotplug writer arrives in between: reported. */
	cpus_read_lock();
	cpus_read_unlock();
	cpus_read_unlock();
	assert_int_equal(new_violations(), 1);
	assert_non_null(strstr(last_line(), "kind=recursive locks=cpu_hotplug_lock "));
	expect_console("trying to acquire cpu_hotplug_lock (read)");
	expect_console("recursive read: a writer queued between the two read acquisitions");
}

/* ---- might_sleep ---- */

static DEFINE_SPINLOCK(ms_spin);
static DEFINE_MUTEX(ms_mutex);

static void might_sleep_here(void)
{
	might_sleep();
}

static void test_might_sleep(void **state)
{
	(void)state;
	mark();
	might_sleep_here();          /* fine: preemptible */
	assert_int_equal(new_violations(), 0);

	preempt_disable();
	might_sleep_here();
	preempt_enable();
	assert_int_equal(new_violations(), 1);
	expect_console("BUG: sleeping function called from invalid context");
	expect_console("in_interrupt=0 irqs_disabled=0 preempt_count=1");
	assert_non_null(strstr(last_line(), "kind=sleep-in-atomic locks=- task=main site=tests/unit/test_lockdep.c:"));

	/* Once per site. */
	for (int i = 0; i < 5; i++) {
		preempt_disable();
		might_sleep_here();
		preempt_enable();
	}
	assert_int_equal(new_violations(), 1);

	/* A mutex under a spinlock: reported at the mutex_lock line even
	 * though the mutex is free and nothing actually sleeps. */
	spin_lock(&ms_spin);
	mutex_lock(&ms_mutex);
	mutex_unlock(&ms_mutex);
	spin_unlock(&ms_spin);
	assert_int_equal(new_violations(), 2);
	expect_console("#0: ms_spin at tests/unit/test_lockdep.c:");

	/* Interrupts off, and interrupt context. */
	unsigned long flags = arch_irq_save();
	might_sleep();
	arch_irq_restore(flags);
	assert_int_equal(new_violations(), 3);
	expect_console("in_interrupt=0 irqs_disabled=1");
	host_irq_enter();
	might_sleep();
	host_irq_exit();
	assert_int_equal(new_violations(), 4);
	expect_console("in_interrupt=1");
}

/* ---- assertions ---- */

static DEFINE_MUTEX(as_m);
static DEFINE_SPINLOCK(as_s);
static DECLARE_RWSEM(as_rw);

static void test_assert_held(void **state)
{
	(void)state;
	mark();
	lockdep_assert_held(&as_m);
	assert_int_equal(new_violations(), 1);
	expect_console("lockdep_assert_held failed");
	assert_non_null(strstr(last_line(), "kind=assert-held "));
	assert_false(lockdep_is_held(&as_m));

	mutex_lock(&as_m);
	spin_lock(&as_s);
	lockdep_assert_held(&as_m);
	lockdep_assert_held(&as_s);
	assert_true(lockdep_is_held(&as_m));
	assert_int_equal(new_violations(), 1);
	lockdep_assert_not_held(&as_m);
	assert_int_equal(new_violations(), 2);
	assert_non_null(strstr(last_line(), "kind=assert-not-held locks=as_m "));
	spin_unlock(&as_s);
	mutex_unlock(&as_m);
	lockdep_assert_not_held(&as_m);
	lockdep_assert_not_held(&as_s);

	/* Read-held counts as held. */
	down_read(&as_rw);
	lockdep_assert_held(&as_rw);
	up_read(&as_rw);
	down_write(&as_rw);
	lockdep_assert_held(&as_rw);
	up_write(&as_rw);
	assert_int_equal(new_violations(), 2);
}

static void test_assert_irqs_and_preemption(void **state)
{
	(void)state;
	mark();
	lockdep_assert_irqs_disabled();
	assert_int_equal(new_violations(), 1);
	assert_non_null(strstr(last_line(), "kind=assert-irqs-disabled "));
	lockdep_assert_preemption_disabled();
	assert_int_equal(new_violations(), 2);
	assert_non_null(strstr(last_line(), "kind=assert-preemption-disabled "));

	unsigned long flags = arch_irq_save();
	lockdep_assert_irqs_disabled();
	lockdep_assert_preemption_disabled();   /* irqs off pins the task too */
	arch_irq_restore(flags);
	preempt_disable();
	lockdep_assert_preemption_disabled();
	preempt_enable();
	spin_lock_irqsave(&as_s, flags);
	lockdep_assert_irqs_disabled();
	lockdep_assert_preemption_disabled();
	spin_unlock_irqrestore(&as_s, flags);
	assert_int_equal(new_violations(), 2);
}

/* ---- unlock misuse, locks held at exit ---- */

static DEFINE_MUTEX(bu_m);
static DEFINE_SPINLOCK(bu_s);
static DEFINE_MUTEX(own_m);
static DEFINE_MUTEX(exit_m);

static void lock_and_return(void *arg)
{
	mutex_lock(arg);
}

static void test_bad_unlock(void **state)
{
	(void)state;
	mark();
	mutex_unlock(&bu_m);
	assert_int_equal(new_violations(), 1);
	assert_non_null(strstr(last_line(), "kind=unlock-unlocked "));
	spin_unlock(&bu_s);
	assert_int_equal(new_violations(), 2);
	assert_false(spin_is_locked(&bu_s));   /* refused, not corrupted */
	spin_lock(&bu_s);
	spin_unlock(&bu_s);

	/* lockdep's own check: releasing what this task does not hold. */
	mutex_lock(&bu_m);
	mutex_unlock(&bu_m);
	lock_release(&bu_m.dep_map, LOCKDEP_SITE, 0);
	assert_int_equal(new_violations(), 3);
	expect_console("bad unlock balance detected");
	assert_non_null(strstr(last_line(), "kind=bad-unlock locks=bu_m "));
}

static void test_unlock_by_non_owner_and_held_at_exit(void **state)
{
	(void)state;
	mark();
	/* The task exits holding own_m: reported at exit. */
	host_task_run(lock_and_return, &own_m, 1, "t_owner");
	assert_int_equal(new_violations(), 1);
	expect_console("task exiting with locks held");
	assert_non_null(strstr(last_line(), "kind=held-at-exit locks=own_m task=t_owner "));
	assert_true(mutex_is_locked(&own_m));
	/* Unlocking somebody else's mutex: reported, and released anyway. */
	mutex_unlock(&own_m);
	assert_int_equal(new_violations(), 2);
	assert_non_null(strstr(last_line(), "kind=unlock-not-owner locks=own_m task=main "));
	assert_false(mutex_is_locked(&own_m));

	host_task_run(lock_and_return, &exit_m, 2, "t_exit");
	assert_int_equal(new_violations(), 3);
}

/* ---- expect windows ---- */

static DEFINE_MUTEX(ex_a);
static DEFINE_MUTEX(ex_b);

static void ex_ab(void *arg)
{
	(void)arg;
	mutex_lock(&ex_a);
	mutex_lock(&ex_b);
	mutex_unlock(&ex_b);
	mutex_unlock(&ex_a);
}

static void ex_ba(void *arg)
{
	(void)arg;
	mutex_lock(&ex_b);
	mutex_lock(&ex_a);
	mutex_unlock(&ex_a);
	mutex_unlock(&ex_b);
}

static void plant(void)
{
	host_task_run(ex_ab, NULL, 1, "plant_ab");
	host_task_run(ex_ba, NULL, 2, "plant_ba");
}

static void test_expect_window(void **state)
{
	(void)state;
	mark();
	lockdep_expect_begin();
	plant();
	assert_int_equal(lockdep_expect_end(), 1);
	assert_int_equal(new_violations(), 0);
	struct lockdep_stats st;
	lockdep_get_stats(&st);
	assert_int_equal(st.expected, before.expected + 1);
	assert_int_equal(st.kept, before.kept);
	expect_console("(expected: planted by a self-test");

	/* A self-test runs again: the planted cycle is seen again. */
	lockdep_expect_begin();
	plant();
	assert_int_equal(lockdep_expect_end(), 1);
	/* Outside a window it is old news. */
	plant();
	assert_int_equal(new_violations(), 0);
	lockdep_get_stats(&st);
	assert_int_equal(st.expected, before.expected + 2);

	/* An empty window. */
	lockdep_expect_begin();
	assert_int_equal(lockdep_expect_end(), 0);
}

/* ---- why usage_lock is not vm_list_lock (docs/locking.md) ---- */

static DEFINE_MUTEX(vm_list_lock);

/* Linux's kvmclock cpufreq notifier: runs under the hotplug lock and takes
 * vm_list_lock. */
static void notifier(void *arg)
{
	(void)arg;
	cpus_read_lock();
	mutex_lock(&vm_list_lock);
	mutex_unlock(&vm_list_lock);
	cpus_read_unlock();
}

/* The old design: usage counted under vm_list_lock, enabling under the
 * hotplug lock. */
static void old_virt_get(void *arg)
{
	(void)arg;
	mutex_lock(&vm_list_lock);
	cpus_read_lock();
	cpus_read_unlock();
	mutex_unlock(&vm_list_lock);
}

static void test_design_cycle_with_hotplug_lock(void **state)
{
	(void)state;
	mark();
	lockdep_expect_begin();
	host_task_run(notifier, NULL, 1, "notifier");
	host_task_run(old_virt_get, NULL, 2, "vm_create");
	assert_int_equal(lockdep_expect_end(), 1);
	expect_console("new dependency: vm_list_lock -> cpu_hotplug_lock");
	expect_console("cpu_hotplug_lock -> vm_list_lock: first seen in notifier/");
	assert_int_equal(new_violations(), 0);
}

/* ---- rw ordering: read acquisitions order like writes ---- */

static DECLARE_RWSEM(rw_sem);
static DEFINE_MUTEX(rw_m);

static void test_read_write_cycle(void **state)
{
	(void)state;
	mark();
	down_read(&rw_sem);
	mutex_lock(&rw_m);
	mutex_unlock(&rw_m);
	up_read(&rw_sem);
	mutex_lock(&rw_m);
	down_read(&rw_sem);   /* deadlocks behind a waiting writer */
	up_read(&rw_sem);
	mutex_unlock(&rw_m);
	assert_int_equal(new_violations(), 1);
	assert_non_null(strstr(last_line(), "kind=cycle locks=rw_m,rw_sem "));
}

/* ---- lockdep=off ---- */

static DEFINE_MUTEX(off_a);
static DEFINE_MUTEX(off_b);

static void test_lockdep_off(void **state)
{
	(void)state;
	boot_params_init("lockdep=off");
	assert_false(lockdep_enabled());
	mark();
	mutex_lock(&off_a);
	mutex_lock(&off_b);
	mutex_unlock(&off_b);
	mutex_unlock(&off_a);
	mutex_lock(&off_b);
	mutex_lock(&off_a);
	mutex_unlock(&off_a);
	mutex_unlock(&off_b);
	preempt_disable();
	might_sleep();
	preempt_enable();
	lockdep_assert_held(&off_a);
	assert_true(lockdep_is_held(&off_a));   /* assertions stay quiet */
	assert_int_equal(new_violations(), 0);
	assert_int_equal(new_deps(), 0);
	assert_int_equal(host_console_count("lockdep:"), 0);
	assert_int_equal(lockdep_current()->depth, 0);

	boot_params_init("");
	assert_true(lockdep_enabled());
}

/* ---- the kept lines are console-safe ---- */

static void test_violation_lines_are_key_value(void **state)
{
	(void)state;
	struct lockdep_stats st;
	char line[LOCKDEP_SUMMARY_MAX];

	lockdep_get_stats(&st);
	assert_true(st.kept > 0);
	assert_int_equal(st.kept, st.violations);
	for (unsigned i = 0; i < st.kept; i++) {
		assert_true(lockdep_violation_line(i, line, sizeof(line)));
		char want[32];
		snprintf(want, sizeof(want), "violation=%u kind=", i + 1);
		assert_memory_equal(line, want, strlen(want));
		/* Every blank-separated token is key=value with no '=' in the value. */
		char *save = NULL;
		for (char *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			char *eq = strchr(tok, '=');
			assert_non_null(eq);
			assert_true(eq > tok && eq[1] != '\0');
			assert_null(strchr(eq + 1, '='));
		}
	}
	assert_false(lockdep_violation_line(st.kept, line, sizeof(line)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_abba_reported_once_with_both_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_three_lock_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_order_is_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trylock_adds_no_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recursive_same_class, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recursive_read_of_hotplug_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_might_sleep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assert_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assert_irqs_and_preemption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_unlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock_by_non_owner_and_held_at_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expect_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_design_cycle_with_hotplug_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lockdep_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_violation_lines_are_key_value, setup, teardown),
	};
	return cmocka_run_group_tests_name("lockdep", tests, NULL, NULL);
}

/*
 * Host tests of the shutdown/reboot and panic side of the virtualization
 * usage core (core/virt/usage.c: virt_reboot, virt_emergency_disable_this_cpu;
 * docs/design.md section 7), on the fake CPUs of host_smp.c and the host backend
 * of host_virt.c, under ThreadSanitizer.
 *
 * These are what the boot scenarios cannot see (tests/scenarios/shutdown.py
 * covers the real machine): after a reboot on a real machine nothing is left
 * to ask whether later enables are refused.
 *
 *  - emergency disable: leaves the CPU off (flag and hardware), idempotent,
 *    reports what the hardware says; -1 without a backend.
 *  - reboot while an enable is under way (blocked inside the backend's
 *    enable on one CPU, under usage_lock): reboot touches no CPU until that
 *    enable has finished, then disables every CPU, counting them.
 *  - afterwards every enable is refused with "the system is rebooting": a
 *    new reference (virt_get) and a CPU coming online while a VM exists
 *    (virt_cpu_online), and the backend never sees an enable.
 *
 * `rebooting` is a one-way latch in usage.c (as in Linux), so the reboot test
 * runs last and once per process; this is why it is not part of
 * test_virt_usage.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/cmdline.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/inject.h>
#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/sched.h>
#include <vigil/smp.h>
#include <vigil/virt.h>

#include "host_sched.h"
#include "host_smp.h"
#include "host_virt.h"
#include <vigil/emergency.h>
#include <vigil/reboot.h>
#include "virt_internal.h"

/* The shell (linked for the `cpus` command) prints these. */
const char vigil_version[] = "host-test";
const char vigil_commit[] = "host-test";

/* core/virt/vm.c is not built on the host; the lock it owns is. */
DEFINE_MUTEX(vm_list_lock);

#define LOAD(x)     __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

static void boot(unsigned possible, unsigned online, bool backend)
{
	host_virt_reset();
	host_virt_set_available(backend);
	inject_clear_all();
	boot_params_init("");
	host_smp_start(possible, online);
	host_console_clear();
	virt_init();
}

static int teardown(void **state)
{
	host_virt_set_hook(NULL);
	host_smp_stop();
	if (host_virt_violations()) {
		host_console_dump();
		fail_msg("%u backend violations, the first: %s", host_virt_violations(),
			 host_virt_first_violation());
	}
	assert_int_equal(virt_usage_count(), 0);
	return host_teardown_no_violations(state);
}

/* Every possible CPU is off: the core's flag and the hardware. */
static void assert_all_off(void)
{
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		if (virt_cpu_enabled(c) || host_virt_hw_on(c))
			fail_msg("cpu %u: flag=%d hw=%d, expected off", c, virt_cpu_enabled(c), host_virt_hw_on(c));
}

/* ---- emergency disable ---- */

static void emergency_here(void *arg)
{
	int *r = arg;
	/* Through the emergency table virt_init registered with, as the
	 * panic path calls it; then directly: idempotent. */
	r[0] = emergency_callbacks_run();
	r[1] = virt_emergency_disable_this_cpu();
}

static void test_emergency_disable(void **state)
{
	(void)state;
	char why[160] = "";
	int r[2] = { 7, 7 };

	boot(4, 4, true);
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	assert_int_equal(smp_call_function_single(2, emergency_here, r, true), 0);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[1], 0);
	assert_false(virt_cpu_enabled(2));
	assert_false(host_virt_hw_on(2));
	for (unsigned c = 0; c < 4; c++)
		if (c != 2)
			assert_true(virt_cpu_enabled(c) && host_virt_hw_on(c));
	/* Dropping the reference disables the others and leaves CPU 2 alone
	 * (the backend counts a disable of a disabled CPU as a violation). */
	virt_put();
	assert_all_off();
	assert_int_equal(host_virt_disables(2), 0);
	host_smp_stop();

	/* No backend: nothing to disable, and it says so. */
	boot(2, 2, false);
	assert_int_equal(smp_call_function_single(1, emergency_here, r, true), 0);
	assert_int_equal(r[0], -1);
	assert_int_equal(r[1], -1);
}

/* ---- reboot ---- */

static int block_armed, blocked, release;

/* The backend's enable on CPU 2 stops here until the test releases it:
 * an enable under way, under usage_lock (held by the virt_get caller). */
static void blocking_hook(const char *op, unsigned cpu)
{
	if (strcmp(op, "enable") || cpu != 2 || !LOAD(block_armed))
		return;
	STORE(block_armed, 0);
	STORE(blocked, 1);
	for (int i = 0; i < 20000 && !LOAD(release); i++)
		host_msleep(1);
}

struct getter {
	int r;
	char why[160];
};

static void get_fn(void *arg)
{
	struct getter *g = arg;
	g->r = virt_get(g->why, sizeof(g->why));
}

static int reboot_result = -100, reboot_started, reboot_done;

static void reboot_fn(void *arg)
{
	(void)arg;
	STORE(reboot_started, 1);
	int n = virt_reboot();
	STORE(reboot_result, n);
	STORE(reboot_done, 1);
}

struct onliner {
	unsigned cpu;
	int r;
	char why[160];
};

static void online_fn(void *arg)
{
	struct onliner *o = arg;
	o->r = virt_cpu_online(o->cpu, o->why, sizeof(o->why));
}

static void test_reboot(void **state)
{
	(void)state;
	char why[160] = "";

	boot(5, 4, true);   /* CPU 4 offline: it comes online after the reboot */
	host_virt_set_hook(blocking_hook);
	STORE(block_armed, 1);

	/* The first reference enables every online CPU; CPU 2's enable is
	 * held inside the backend. */
	struct getter g = { .r = -100 };
	struct task *getter = host_task_spawn(get_fn, &g, 0, "getter");
	for (int i = 0; i < 10000 && !LOAD(blocked); i++)
		host_msleep(1);
	assert_true(LOAD(blocked));

	/* Reboot now.  It must wait for that enable: disabling around it
	 * would race with it (on the real machine the enable of a CPU coming
	 * online runs with interrupts on, so a disable IPI could land between
	 * the core's `rebooting` check and the backend's enable). */
	struct task *rebooter = host_task_spawn(reboot_fn, NULL, 1, "rebooter");
	for (int i = 0; i < 10000 && !LOAD(reboot_started); i++)
		host_msleep(1);
	assert_true(LOAD(reboot_started));
	/* Watched for a while: a reboot that does not wait disables the
	 * CPUs whose enable is done within microseconds (the margin is for
	 * ThreadSanitizer, whose reports stall threads for a while). */
	for (int i = 0; i < 1500; i++) {
		for (unsigned c = 0; c < 5; c++)
			if (host_virt_disables(c))
				fail_msg("reboot disabled cpu %u while an enable was under way", c);
		assert_false(LOAD(reboot_done));
		host_msleep(1);
	}

	STORE(release, 1);
	host_task_join(getter);
	host_task_join(rebooter);
	assert_int_equal(g.r, 0);                  /* it got in before the reboot */
	assert_int_equal(LOAD(reboot_result), 4);  /* and the reboot undid it everywhere */
	assert_all_off();
	for (unsigned c = 0; c < 4; c++) {
		assert_int_equal(host_virt_enables(c), 1);
		assert_int_equal(host_virt_disables(c), 1);
	}
	assert_int_equal(host_console_count("still has virtualization on"), 0);

	/* From now on every enable is refused, and nothing reaches the
	 * backend.  A new reference: */
	assert_int_equal(virt_get(why, sizeof(why)), -1);
	assert_string_equal(why, "the system is rebooting");
	assert_int_equal(virt_usage_count(), 1);   /* the getter's, still held */

	/* A CPU coming online while a VM holds a reference (its hotplug
	 * ONLINE step would enable it): vetoed. */
	host_cpu_online(4);
	struct onliner o = { .cpu = 4, .r = -100 };
	host_task_run(online_fn, &o, 4, "online");
	assert_int_equal(o.r, -1);
	assert_string_equal(o.why, "the system is rebooting");
	host_cpu_offline(4);

	for (unsigned c = 0; c < 5; c++)
		assert_int_equal(host_virt_enables(c), c < 4 ? 1 : 0);
	assert_all_off();

	/* A second reboot (reboot after a failed poweroff...) finds nothing
	 * on; this time through the reboot notifier virt_init registered. */
	assert_int_equal(reboot_notify("reboot"), 1);
	assert_int_equal(host_console_count("reboot: virtualization disabled on 0 CPUs"), 1);

	virt_put();
	assert_int_equal(virt_usage_count(), 0);
	assert_all_off();
	for (unsigned c = 0; c < 5; c++)
		assert_int_equal(host_virt_disables(c), c < 4 ? 1 : 0);
}

int main(void)
{
	host_watchdog(120);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_emergency_disable, teardown),
		/* Last: the reboot latch stays set for the rest of the process. */
		cmocka_unit_test_teardown(test_reboot, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

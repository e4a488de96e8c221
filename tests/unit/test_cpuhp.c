/*
 * Host tests of the CPU-hotplug state machine (core/hotplug/hotplug.c, the
 * real code, docs/design.md section 3) under ThreadSanitizer, on host_smp's fake
 * CPUs, with the real virtualization usage core (core/virt/usage.c) behind
 * its static ONLINE state and host_virt.c as the hardware.
 *
 *  - order: up runs PREPARE, STARTING, ONLINE startups in table order, down
 *    the teardowns in exact reverse; each in its context (PREPARE on the
 *    control CPU, preemptible, CPU not online; STARTING on the target with
 *    interrupts off; ONLINE on the target in cpuhp/<n>, preemptible, CPU
 *    online).
 *  - a failing ONLINE startup (a test state, the cpuhp_online_fail inject
 *    point) or a failed bring-up rolls back exactly the steps done, leaves
 *    the CPU offline, and the reason names the step.
 *  - registering a state runs its startup once on every online CPU (none on
 *    offline ones); a failure on one CPU tears down the CPUs done and the
 *    state is gone.
 *  - the boot CPU and bad targets are refused, with no callback run.
 *  - with a usage reference held, offline disables virtualization on that
 *    CPU and online enables it; an incompatible CPU is refused on online
 *    while the count is up and accepted while it is 0.
 *  - stress: threads doing random cpu_up/cpu_down, state registration,
 *    virt_get/virt_put with random enable failures and the invariant checker
 *    all at once: no invariant, backend, callback-balance or lockdep
 *    violation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/why.h>
#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/inject.h>
#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/sched.h>
#include <vigil/virt.h>

#include "host_cpuhp.h"
#include "host_sched.h"
#include "host_smp.h"
#include "host_virt.h"

/* The shell (linked for the `cpus` command of core/cpu_table.c). */
const char vigil_version[] = "host-test";
const char vigil_commit[] = "host-test";
/* core/virt/vm.c is not built on the host; usage.c refers to its lock. */
DEFINE_MUTEX(vm_list_lock);

INJECT_DECLARE(cpuhp_online_fail);

#define NCPUS 8
#define NBOOT 6    /* CPUs 6 and 7 start offline: their first online creates cpuhp/<n> */

/* ---- recording callbacks ---- */

enum tag { T_PREP, T_START, T_A, T_B, T_FAIL, NTAGS };
static const char tag_char[NTAGS] = { 'P', 'S', 'A', 'B', 'F' };

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static char rec_log[4096];
static bool rec_on;
/* Whether a state's startup ran on a CPU without its teardown since: a
 * second startup or a teardown without one is a callback-balance error. */
static bool active[NTAGS][NCPUS];
static unsigned ctx_errors;
static char first_ctx_error[200];
static int fail_cpu = -1;     /* atomic: F's startup fails on this CPU */

static void ctx_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ctx_error(const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(first_ctx_error)];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&rec_mu);
	if (ctx_errors++ == 0)
		snprintf(first_ctx_error, sizeof(first_ctx_error), "%s", msg);
	pthread_mutex_unlock(&rec_mu);
}

/* The context each section promises its callbacks (include/vigil/cpuhp.h). */
static void check_context(enum tag t, unsigned cpu, char dir)
{
	unsigned self = smp_processor_id();
	bool online = cpu_table[cpu].state == CPU_ONLINE;
	switch (t) {
	case T_PREP:
		/* Control side: may sleep; the CPU is not (or no longer) up. */
		if (in_atomic() || self == cpu || online)
			ctx_error("P%c%u: on cpu %u atomic=%d online=%d", dir, cpu, self, in_atomic(), online);
		break;
	case T_START:
		if (self != cpu || arch_irqs_enabled())
			ctx_error("S%c%u: on cpu %u irqs=%d", dir, cpu, self, arch_irqs_enabled());
		break;
	default:
		/* cpuhp/<cpu>: on the CPU, preemptible, the CPU online. */
		if (self != cpu || in_atomic() || !online)
			ctx_error("%c%c%u: on cpu %u atomic=%d online=%d", tag_char[t], dir, cpu, self,
				  in_atomic(), online);
		break;
	}
}

static void record(enum tag t, unsigned cpu, char dir)
{
	check_context(t, cpu, dir);
	pthread_mutex_lock(&rec_mu);
	bool twice = dir == '+' && active[t][cpu];
	bool unpaired = dir == '-' && !active[t][cpu];
	if (dir != '!')
		active[t][cpu] = dir == '+';
	if (rec_on) {
		size_t n = strlen(rec_log);
		snprintf(rec_log + n, sizeof(rec_log) - n, "%c%c%u ", tag_char[t], dir, cpu);
	}
	pthread_mutex_unlock(&rec_mu);
	if (twice)
		ctx_error("%c: startup on cpu %u twice", tag_char[t], cpu);
	if (unpaired)
		ctx_error("%c: teardown on cpu %u without startup", tag_char[t], cpu);
}

#define DEFINE_STATE_CBS(name, tag)                                          \
	static int name##_up(unsigned cpu, char *why, size_t len)            \
	{                                                                    \
		(void)why;                                                   \
		(void)len;                                                   \
		record(tag, cpu, '+');                                       \
		return 0;                                                    \
	}                                                                    \
	static void name##_down(unsigned cpu)                                \
	{                                                                    \
		record(tag, cpu, '-');                                       \
	}
DEFINE_STATE_CBS(prep, T_PREP)
DEFINE_STATE_CBS(start, T_START)
DEFINE_STATE_CBS(sta, T_A)
DEFINE_STATE_CBS(stb, T_B)

static int fail_up(unsigned cpu, char *why, size_t len)
{
	if ((int)cpu == __atomic_load_n(&fail_cpu, __ATOMIC_SEQ_CST)) {
		record(T_FAIL, cpu, '!');
		snprintf(why, len, "refused by the test on CPU %u", cpu);
		return -1;
	}
	record(T_FAIL, cpu, '+');
	return 0;
}

static void fail_down(unsigned cpu)
{
	record(T_FAIL, cpu, '-');
}

static void rec_start(void)
{
	pthread_mutex_lock(&rec_mu);
	rec_log[0] = 0;
	rec_on = true;
	pthread_mutex_unlock(&rec_mu);
}

/* The events since rec_start(), and stop recording. */
static void expect_log(const char *want)
{
	pthread_mutex_lock(&rec_mu);
	rec_on = false;
	char got[sizeof(rec_log)];
	snprintf(got, sizeof(got), "%s", rec_log);
	pthread_mutex_unlock(&rec_mu);
	if (strcmp(got, want)) {
		host_console_dump();
		fail_msg("callbacks ran as\n  '%s', expected\n  '%s'", got, want);
	}
}

/* ---- helpers ---- */

static void up_ok(unsigned cpu)
{
	char why[160] = "";
	if (cpu_up(cpu, why, sizeof(why)) != 0) {
		host_console_dump();
		fail_msg("cpu_up(%u): %s", cpu, why);
	}
	assert_int_equal(cpu_table[cpu].state, CPU_ONLINE);
}

static void down_ok(unsigned cpu)
{
	char why[160] = "";
	if (cpu_down(cpu, why, sizeof(why)) != 0) {
		host_console_dump();
		fail_msg("cpu_down(%u): %s", cpu, why);
	}
	assert_int_equal(cpu_table[cpu].state, CPU_OFFLINE);
}

static void invariant_holds(void)
{
	char why[160] = "";
	if (invariants_check(why, sizeof(why)) != 0) {
		host_console_dump();
		fail_msg("invariant: %s", why);
	}
}

static void console_has(const char *what)
{
	if (!host_console_count(what)) {
		host_console_dump();
		fail_msg("console output lacks '%s'", what);
	}
}

/* A refusal names the step (or CPU) and gives the reason; the exact
 * wording around them is the console's business. */
static void why_has(const char *why, const char *step, const char *reason)
{
	if (!strstr(why, step) || !strstr(why, reason))
		fail_msg("reason '%s' lacks '%s' or '%s'", why, step, reason);
}

/* States a test registered, removed by teardown if the test failed before
 * removing them, so one failure does not cascade into the next tests. */
static int test_ids[8];
static unsigned nr_test_ids;

static int track(int id)
{
	if (id >= 0 && nr_test_ids < 8)
		test_ids[nr_test_ids++] = id;
	return id;
}

static void remove_state(int id)
{
	for (unsigned i = 0; i < nr_test_ids; i++)
		if (test_ids[i] == id) {
			test_ids[i] = test_ids[--nr_test_ids];
			break;
		}
	cpuhp_remove_state(id);
}

static int setup_state(const char *name, cpuhp_startup_fn up, cpuhp_teardown_fn down)
{
	char why[160] = "";
	int id = track(cpuhp_setup_state(name, up, down, why, sizeof(why)));
	if (id < 0)
		fail_msg("cpuhp_setup_state(%s): %s", name, why);
	return id;
}

static int setup_starting(void)
{
	int id = track(cpuhp_setup_starting_state("test:starting", start_up, start_down));
	if (id < 0)
		fail_msg("cpuhp_setup_starting_state: no free state");
	return id;
}

static int group_setup(void **state)
{
	(void)state;
	host_cpuhp_boot(NCPUS, NBOOT, prep_up, prep_down);
	/* cpuhp_init counted the PREPARE state done on the CPUs up at boot. */
	for (unsigned c = 0; c < NBOOT; c++)
		active[T_PREP][c] = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	host_cpuhp_shutdown();
	return 0;
}

/* Back to the boot configuration, and nothing went wrong on the way. */
static int teardown(void **state)
{
	__atomic_store_n(&fail_cpu, -1, __ATOMIC_SEQ_CST);
	inject_clear_all();
	host_virt_fail_random(0);
	for (unsigned c = 0; c < NCPUS; c++)
		host_virt_skew_snapshot(c, NULL);
	while (nr_test_ids)
		remove_state(test_ids[nr_test_ids - 1]);
	for (unsigned c = 1; c < NCPUS; c++) {
		bool want = c < NBOOT;
		if (cpu_is_online(c) != want) {
			if (want)
				up_ok(c);
			else
				down_ok(c);
		}
	}
	host_cpuhp_join_dying();
	host_smp_quiesce();
	if (host_virt_violations()) {
		host_console_dump();
		fail_msg("%u backend violations, the first: %s", host_virt_violations(),
			 host_virt_first_violation());
	}
	if (ctx_errors) {
		host_console_dump();
		fail_msg("%u callback context/balance errors, the first: %s", ctx_errors, first_ctx_error);
	}
	for (unsigned c = 0; c < NCPUS; c++)
		if (active[T_PREP][c] != (c < NBOOT))
			fail_msg("PREPARE state on cpu %u: active=%d", c, active[T_PREP][c]);
	assert_int_equal(virt_usage_count(), 0);
	invariant_holds();
	host_console_clear();
	return host_teardown_no_violations(state);
}

/* ---- order ---- */

static void test_up_down_order(void **state)
{
	(void)state;
	rec_start();
	int s = setup_starting();
	int a = setup_state("test:a", sta_up, sta_down);
	int b = setup_state("test:b", stb_up, stb_down);
	/* Each startup once on each online CPU, and nowhere else. */
	expect_log("S+0 S+1 S+2 S+3 S+4 S+5 A+0 A+1 A+2 A+3 A+4 A+5 B+0 B+1 B+2 B+3 B+4 B+5 ");

	unsigned long downs = cpuhp_downs, ups = cpuhp_ups, deaths = host_cpuhp_deaths(3);
	uint32_t all = host_cpuhp_done(3);
	rec_start();
	down_ok(3);
	/* ONLINE in reverse registration order, then STARTING on the dying
	 * CPU, then PREPARE on the control CPU. */
	expect_log("B-3 A-3 S-3 P-3 ");
	assert_int_equal(host_cpuhp_done(3), 0);
	assert_int_equal(host_cpuhp_deaths(3), deaths + 1);
	assert_int_equal(cpuhp_downs, downs + 1);
	assert_string_equal(cpuhp_state_name(3), "offline");

	rec_start();
	up_ok(3);
	expect_log("P+3 S+3 A+3 B+3 ");
	assert_int_equal(host_cpuhp_done(3), all);
	assert_int_equal(cpuhp_ups, ups + 1);
	assert_string_equal(cpuhp_state_name(3), "online");

	/* A CPU offline since boot: its first online starts cpuhp/6. */
	rec_start();
	up_ok(6);
	down_ok(6);
	expect_log("P+6 S+6 A+6 B+6 B-6 A-6 S-6 P-6 ");

	/* Removal tears down on every online CPU. */
	rec_start();
	remove_state(b);
	remove_state(a);
	remove_state(s);
	expect_log("B-0 B-1 B-2 B-3 B-4 B-5 A-0 A-1 A-2 A-3 A-4 A-5 S-0 S-1 S-2 S-3 S-4 S-5 ");
	rec_start();
	down_ok(2);
	up_ok(2);
	expect_log("P-2 P+2 ");
}

/* ---- failures ---- */

static void test_online_failure_rolls_back(void **state)
{
	(void)state;
	char why[160];
	int s = setup_starting();
	int a = setup_state("test:a", sta_up, sta_down);
	int f = setup_state("test:fail", fail_up, fail_down);
	down_ok(3);

	__atomic_store_n(&fail_cpu, 3, __ATOMIC_SEQ_CST);
	host_console_clear();
	rec_start();
	assert_int_equal(cpu_up(3, why, sizeof(why)), -1);
	/* Everything done is undone, newest first, and the CPU died again. */
	expect_log("P+3 S+3 A+3 F!3 A-3 S-3 P-3 ");
	why_has(why, "test:fail", "refused by the test on CPU 3");
	assert_int_equal(cpu_table[3].state, CPU_OFFLINE);
	assert_int_equal(host_cpuhp_done(3), 0);
	console_has("cpuhp: CPU 3 stays offline: ");
	console_has("refused by the test on CPU 3");
	/* Refused again while it still fails; accepted once it does not. */
	assert_int_equal(cpu_up(3, why, sizeof(why)), -1);
	__atomic_store_n(&fail_cpu, -1, __ATOMIC_SEQ_CST);
	rec_start();
	up_ok(3);
	expect_log("P+3 S+3 A+3 F+3 ");

	/* The inject point fails the last ONLINE step after it ran. */
	down_ok(3);
	inject_cpuhp_online_fail.cpu = 3;
	inject_cpuhp_online_fail.remaining = 1;
	__atomic_store_n(&inject_cpuhp_online_fail.armed, 1, __ATOMIC_RELEASE);
	rec_start();
	assert_int_equal(cpu_up(3, why, sizeof(why)), -WHY_INJECTED);
	expect_log("P+3 S+3 A+3 F+3 F-3 A-3 S-3 P-3 ");
	why_has(why, "test:fail", "(injected)");
	assert_int_equal(cpu_table[3].state, CPU_OFFLINE);
	assert_int_equal(host_cpuhp_done(3), 0);

	/* A CPU that does not answer: PREPARE undone, nothing else ran, and
	 * the scheduler told its run queue is closed again. */
	host_cpuhp_fail_bringup(3, 1);
	unsigned long deaths = host_cpuhp_deaths(3), failed = host_cpuhp_start_failures(3);
	rec_start();
	assert_int_equal(cpu_up(3, why, sizeof(why)), -1);
	expect_log("P+3 P-3 ");
	why_has(why, "CPU 3", "did not answer INIT-SIPI-SIPI (host test)");
	assert_int_equal(cpu_table[3].state, CPU_OFFLINE);
	assert_int_equal(host_cpuhp_done(3), 0);
	assert_int_equal(host_cpuhp_start_failures(3), failed + 1);
	assert_int_equal(host_cpuhp_deaths(3), deaths);

	up_ok(3);
	remove_state(f);
	remove_state(a);
	remove_state(s);
}

static void test_setup_state_everywhere_and_rollback(void **state)
{
	(void)state;
	char why[160];
	down_ok(2);
	rec_start();
	int a = setup_state("test:a", sta_up, sta_down);
	expect_log("A+0 A+1 A+3 A+4 A+5 ");

	/* Fails on CPU 4: the CPUs done are torn down, the state is gone. */
	__atomic_store_n(&fail_cpu, 4, __ATOMIC_SEQ_CST);
	uint32_t done1 = host_cpuhp_done(1);
	rec_start();
	assert_int_equal(cpuhp_setup_state("test:fail", fail_up, fail_down, why, sizeof(why)), -1);
	expect_log("F+0 F+1 F+3 F!4 F-0 F-1 F-3 ");
	why_has(why, "test:fail", "refused by the test on CPU 4");
	assert_int_equal(host_cpuhp_done(1), done1);
	rec_start();
	up_ok(2);
	expect_log("P+2 A+2 ");

	/* STARTING: on each online CPU with interrupts off (check_context). */
	rec_start();
	int s = setup_starting();
	expect_log("S+0 S+1 S+2 S+3 S+4 S+5 ");
	rec_start();
	remove_state(s);
	remove_state(a);
	expect_log("S-0 S-1 S-2 S-3 S-4 S-5 A-0 A-1 A-2 A-3 A-4 A-5 ");
}

static void test_boot_cpu_and_bad_targets_refused(void **state)
{
	(void)state;
	char why[160];
	unsigned long b = host_cpuhp_bringups(0);
	rec_start();
	assert_int_equal(cpu_down(0, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 0 is the boot CPU and cannot go offline");
	assert_int_equal(cpu_up(0, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 0 is the boot CPU and always online");
	assert_int_equal(cpu_up(2, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 2 is already online");
	assert_int_equal(cpu_down(7, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 7 is already offline");
	assert_int_equal(cpu_up(NCPUS, why, sizeof(why)), -1);
	assert_string_equal(why, "no CPU 8 (8 possible)");
	expect_log("");
	assert_int_equal(cpu_table[0].state, CPU_ONLINE);
	assert_int_equal(host_cpuhp_bringups(0), b);
}

/* A CPU that does not stop when taken offline: marked failed with its
 * STARTING and PREPARE steps still done; an online is refused while it keeps
 * running, and once it has stopped after all, the online first finishes the
 * teardown the offline could not do (PREPARE undone, then redone). */
static void test_cpu_that_will_not_stop(void **state)
{
	(void)state;
	char why[200];
	int s = setup_starting();
	int a = setup_state("test:a", sta_up, sta_down);
	unsigned long bringups = host_cpuhp_bringups(4), deaths = host_cpuhp_deaths(4);
	host_cpuhp_hold_death(4, true);
	rec_start();
	assert_int_equal(cpu_down(4, why, sizeof(why)), -1);
	why_has(why, "CPU 4", "did not stop within");
	expect_log("A-4 ");
	assert_int_equal(cpu_table[4].state, CPU_FAILED);
	assert_int_equal(host_cpuhp_deaths(4), deaths);

	rec_start();
	assert_int_equal(cpu_up(4, why, sizeof(why)), -1);
	why_has(why, "CPU 4", "has not stopped since it was taken offline");
	expect_log("");
	assert_int_equal(host_cpuhp_bringups(4), bringups);
	assert_int_equal(cpu_table[4].state, CPU_FAILED);

	/* It stops late: its STARTING teardowns run then, on it. */
	rec_start();
	host_cpuhp_hold_death(4, false);
	host_cpuhp_join_dying();
	assert_int_equal(host_cpuhp_deaths(4), deaths + 1);
	up_ok(4);
	expect_log("S-4 P-4 P+4 S+4 A+4 ");
	assert_int_equal(host_cpuhp_bringups(4), bringups + 1);
	invariant_holds();
	remove_state(a);
	remove_state(s);
}

/* ---- virtualization follows ---- */

static void test_virt_follows_hotplug(void **state)
{
	(void)state;
	char why[160] = "";
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	invariant_holds();
	uint64_t en = host_virt_enables(3), dis = host_virt_disables(3);

	down_ok(3);
	assert_false(host_virt_hw_on(3));
	assert_false(virt_cpu_enabled(3));
	assert_int_equal(host_virt_disables(3), dis + 1);
	invariant_holds();
	up_ok(3);
	assert_true(host_virt_hw_on(3));
	assert_true(virt_cpu_enabled(3));
	assert_int_equal(host_virt_enables(3), en + 1);
	invariant_holds();
	/* A CPU never online before gets enabled on its first online too. */
	up_ok(7);
	assert_true(host_virt_hw_on(7));
	invariant_holds();
	down_ok(7);
	assert_false(host_virt_hw_on(7));

	/* Incompatible CPU while the count is up: refused, never enabled. */
	down_ok(3);
	host_virt_skew_snapshot(3, HOST_VIRT_FIELD_BACKEND);
	en = host_virt_enables(3);
	host_console_clear();
	assert_int_equal(cpu_up(3, why, sizeof(why)), -WHY_INCOMPATIBLE);
	why_has(why, "virt:online", "host_caps=0x1234aacd differs from the boot CPU's 0x1234abcd");
	console_has("cpuhp: CPU 3 stays offline: ");
	assert_int_equal(cpu_table[3].state, CPU_OFFLINE);
	assert_int_equal(host_virt_enables(3), en);
	assert_int_equal(host_cpuhp_done(3), 0);
	invariant_holds();
	/* An enable failure vetoes the same way. */
	host_virt_skew_snapshot(3, NULL);
	host_virt_fail_enable(3, 1);
	assert_int_equal(cpu_up(3, why, sizeof(why)), -1);
	why_has(why, "virt:online", HOST_VIRT_ENABLE_FAIL_MSG);
	assert_int_equal(cpu_table[3].state, CPU_OFFLINE);
	invariant_holds();

	/* Count 0: the incompatible CPU may come online (compat records why),
	 * and the next reference is then refused cleanly. */
	virt_put();
	host_virt_skew_snapshot(3, HOST_VIRT_FIELD_BACKEND);
	up_ok(3);
	assert_false(host_virt_hw_on(3));
	assert_non_null(strstr(virt_cpu_compat(3), "host_caps=0x1234aacd_differs"));
	invariant_holds();
	assert_int_equal(virt_get(why, sizeof(why)), -WHY_INCOMPATIBLE);
	assert_string_equal(why, "cpu 3: host_caps=0x1234aacd differs from the boot CPU's 0x1234abcd");
	assert_int_equal(virt_usage_count(), 0);
	invariant_holds();
	host_virt_skew_snapshot(3, NULL);
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	virt_put();
}

/* ---- firmware hot-add and hot-remove ---- */

/* A CPU the firmware inserts goes ABSENT -> OFFLINE -> online through the
 * same walk as cpu_up (so a VM's compatibility check vetoes it); a removal
 * takes it down through cpu_down and makes it absent; a CPU that did not
 * stop is never made absent (it would be ejected while running). */
static void test_hot_add_and_remove(void **state)
{
	(void)state;
	char why[200];
	unsigned cpu = 99;

	/* CPU 7 (APIC ID 7, offline at boot) becomes a hot-pluggable slot. */
	assert_int_equal(cpu_set_present(7, false, why, sizeof(why)), 0);
	assert_int_equal(cpu_table[7].state, CPU_ABSENT);
	assert_int_equal(cpu_up(7, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 7 is absent");
	assert_int_equal(cpu_set_present(7, false, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 7 is absent");

	unsigned long b = host_cpuhp_bringups(7), d = host_cpuhp_deaths(7);
	rec_start();
	assert_int_equal(cpu_hot_add(7, &cpu, why, sizeof(why)), 0);
	expect_log("P+7 ");
	assert_int_equal(cpu, 7);
	assert_int_equal(cpu_table[7].state, CPU_ONLINE);
	assert_int_equal(host_cpuhp_bringups(7), b + 1);
	assert_int_equal(cpu_set_present(7, false, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 7 is online");
	assert_int_equal(cpu_set_present(7, true, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 7 is already present (online)");
	invariant_holds();

	rec_start();
	assert_int_equal(cpu_hot_remove(7, &cpu, why, sizeof(why)), 0);
	host_cpuhp_join_dying();
	expect_log("P-7 ");
	assert_int_equal(cpu_table[7].state, CPU_ABSENT);
	assert_int_equal(host_cpuhp_deaths(7), d + 1);
	assert_int_equal(cpu_hot_remove(7, &cpu, why, sizeof(why)), 0); /* already gone */
	invariant_holds();

	/* Not possible CPUs, and the boot CPU. */
	assert_int_equal(cpu_hot_add(99, &cpu, why, sizeof(why)), -1);
	why_has(why, "APIC ID 99", "not a possible CPU");
	assert_int_equal(cpu_hot_remove(0, &cpu, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 0 is the boot CPU and cannot go offline");
	assert_int_equal(cpu_set_present(0, false, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 0 is the boot CPU and always present");

	/* With a VM: an incompatible CPU is inserted but stays offline with the
	 * reason; its removal needs no offline walk. */
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	host_virt_skew_snapshot(7, HOST_VIRT_FIELD_BACKEND);
	assert_int_equal(cpu_hot_add(7, &cpu, why, sizeof(why)), -WHY_INCOMPATIBLE);
	why_has(why, "virt:online", "host_caps=0x1234aacd differs from the boot CPU's 0x1234abcd");
	host_cpuhp_join_dying();
	assert_int_equal(cpu_table[7].state, CPU_OFFLINE);
	invariant_holds();
	assert_int_equal(cpu_hot_remove(7, &cpu, why, sizeof(why)), 0);
	assert_int_equal(cpu_table[7].state, CPU_ABSENT);
	host_virt_skew_snapshot(7, NULL);
	assert_int_equal(cpu_hot_add(7, &cpu, why, sizeof(why)), 0);
	assert_true(host_virt_hw_on(7));
	invariant_holds();
	virt_put();

	/* A CPU that does not stop after the offline is not made absent until
	 * it has stopped; then its PREPARE teardown is finished first. */
	host_cpuhp_hold_death(7, true);
	assert_int_equal(cpu_hot_remove(7, &cpu, why, sizeof(why)), -1);
	why_has(why, "CPU 7", "did not stop within");
	assert_int_equal(cpu_table[7].state, CPU_FAILED);
	assert_int_equal(cpu_hot_remove(7, &cpu, why, sizeof(why)), -1);
	why_has(why, "CPU 7", "has not stopped since it was taken offline");
	assert_int_equal(cpu_table[7].state, CPU_FAILED);
	host_cpuhp_hold_death(7, false);
	host_cpuhp_join_dying();
	rec_start();
	assert_int_equal(cpu_hot_remove(7, &cpu, why, sizeof(why)), 0);
	expect_log("P-7 ");
	assert_int_equal(cpu_table[7].state, CPU_ABSENT);

	/* Back as the other tests expect it: present and offline. */
	assert_int_equal(cpu_set_present(7, true, why, sizeof(why)), 0);
	assert_int_equal(cpu_table[7].state, CPU_OFFLINE);
	assert_string_equal(virt_cpu_compat(7), "unchecked");
}

/* ---- stress ---- */

#define STRESS_OPS 400          /* per hotplug thread */
#define HOTPLUG_THREADS 2
#define VIRT_THREADS 3

static int stop_flag;
static unsigned inv_failures, inv_checks;
static char first_inv_failure[160];
static unsigned long up_fail, down_fail, virt_fail, virt_ok, regs;
static char odd_failure[200];

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* The reasons a racing up/down may legitimately be refused. */
static bool expected_failure(const char *why)
{
	return strstr(why, "is already") || strstr(why, HOST_VIRT_ENABLE_FAIL_MSG);
}

static void hotplug_thread(void *arg)
{
	uint32_t seed = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
	char why[160];
	for (unsigned i = 0; i < STRESS_OPS; i++) {
		unsigned cpu = 1 + rnd(&seed) % (NCPUS - 1);
		bool up = rnd(&seed) & 1;
		why[0] = 0;
		int r = up ? cpu_up(cpu, why, sizeof(why)) : cpu_down(cpu, why, sizeof(why));
		if (r) {
			__atomic_add_fetch(up ? &up_fail : &down_fail, 1, __ATOMIC_RELAXED);
			if (!expected_failure(why)) {
				pthread_mutex_lock(&rec_mu);
				if (!odd_failure[0])
					snprintf(odd_failure, sizeof(odd_failure), "cpu_%s(%u): %s", up ? "up" : "down",
						 cpu, why);
				pthread_mutex_unlock(&rec_mu);
			}
		}
	}
}

static void virt_thread(void *arg)
{
	uint32_t seed = (uint32_t)(uintptr_t)arg * 40503u + 7;
	char why[160];
	while (!__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
		if (virt_get(why, sizeof(why)) == 0) {
			__atomic_add_fetch(&virt_ok, 1, __ATOMIC_RELAXED);
			for (unsigned n = rnd(&seed) % 4; n; n--)
				host_yield();
			virt_put();
		} else {
			__atomic_add_fetch(&virt_fail, 1, __ATOMIC_RELAXED);
		}
	}
}

static void checker_thread(void *arg)
{
	(void)arg;
	char why[160];
	while (!__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
		why[0] = 0;
		__atomic_add_fetch(&inv_checks, 1, __ATOMIC_RELAXED);
		if (invariants_check(why, sizeof(why)) != 0 &&
		    __atomic_add_fetch(&inv_failures, 1, __ATOMIC_RELAXED) == 1)
			snprintf(first_inv_failure, sizeof(first_inv_failure), "%s", why);
	}
}

/* Registration races hotplug: a state must end up exactly once on every
 * CPU that is online, whichever came first (check_context/record). */
static void registrar_thread(void *arg)
{
	(void)arg;
	char why[160];
	while (!__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
		int id = cpuhp_setup_state("test:a", sta_up, sta_down, why, sizeof(why));
		if (id < 0) {
			ctx_error("registration failed: %s", why);
			return;
		}
		host_yield();
		cpuhp_remove_state(id);
		__atomic_add_fetch(&regs, 1, __ATOMIC_RELAXED);
	}
}

static void test_stress_hotplug_races_virt(void **state)
{
	(void)state;
	struct task *hp[HOTPLUG_THREADS], *vt[VIRT_THREADS], *chk, *reg;
	unsigned long ups = cpuhp_ups, downs = cpuhp_downs;
	host_virt_fail_random(20);
	__atomic_store_n(&stop_flag, 0, __ATOMIC_RELEASE);
	/* Every task on the boot CPU, which never goes away (the kernel would
	 * migrate tasks off a dying CPU; host tasks cannot be moved). */
	for (unsigned i = 0; i < VIRT_THREADS; i++)
		vt[i] = host_task_spawn(virt_thread, (void *)(uintptr_t)(i + 1), 0, "virt");
	chk = host_task_spawn(checker_thread, NULL, 0, "check");
	reg = host_task_spawn(registrar_thread, NULL, 0, "reg");
	for (unsigned i = 0; i < HOTPLUG_THREADS; i++)
		hp[i] = host_task_spawn(hotplug_thread, (void *)(uintptr_t)(i + 1), 0, "hotplug");
	for (unsigned i = 0; i < HOTPLUG_THREADS; i++)
		host_task_join(hp[i]);
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < VIRT_THREADS; i++)
		host_task_join(vt[i]);
	host_task_join(chk);
	host_task_join(reg);
	host_virt_fail_random(0);

	printf("# stress: %lu up, %lu down (%lu/%lu refused), virt %lu/%lu, %lu registrations, %u checks\n",
	       cpuhp_ups - ups, cpuhp_downs - downs, up_fail, down_fail, virt_ok, virt_fail, regs, inv_checks);
	if (inv_failures) {
		host_console_dump();
		fail_msg("%u invariant failures, the first: %s", inv_failures, first_inv_failure);
	}
	if (odd_failure[0])
		fail_msg("unexpected hotplug failure: %s", odd_failure);
	assert_true(cpuhp_ups - ups > 20 && cpuhp_downs - downs > 20);
	assert_true(inv_checks > 10 && virt_ok > 10 && regs > 5);
	/* Each CPU's callbacks balanced: PREPARE active exactly where online. */
	for (unsigned c = 0; c < NCPUS; c++) {
		assert_int_equal(active[T_PREP][c], cpu_is_online(c));
		assert_false(active[T_A][c]);
		if (cpu_is_online(c))
			assert_int_equal(host_cpuhp_done(c), host_cpuhp_done(0));
		else
			assert_int_equal(host_cpuhp_done(c), 0);
	}
	invariant_holds();
}

int main(void)
{
	host_watchdog(540);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_up_down_order, teardown),
		cmocka_unit_test_teardown(test_online_failure_rolls_back, teardown),
		cmocka_unit_test_teardown(test_setup_state_everywhere_and_rollback, teardown),
		cmocka_unit_test_teardown(test_boot_cpu_and_bad_targets_refused, teardown),
		cmocka_unit_test_teardown(test_cpu_that_will_not_stop, teardown),
		cmocka_unit_test_teardown(test_virt_follows_hotplug, teardown),
		cmocka_unit_test_teardown(test_hot_add_and_remove, teardown),
		cmocka_unit_test_teardown(test_stress_hotplug_races_virt, teardown),
	};
	return cmocka_run_group_tests_name("cpuhp", tests, group_setup, group_teardown);
}

/*
 * Host tests of the virtualization usage core (core/virt/usage.c, the real
 * code, docs/design.md section 4) under ThreadSanitizer: tasks are threads, the
 * fake CPUs of host_smp.c run cross-CPU calls on their own workers, and
 * host_virt.c is the hardware (per-CPU enable bits that punish a double
 * enable, a disable of a disabled CPU, or a call made while preemptible).
 *
 *  - the fake CPUs: a call runs on its target as an IPI handler would, not
 *    on offline CPUs, queued calls are flushed by going offline, and two
 *    CPUs calling each other concurrently do not deadlock.
 *  - 0 -> 1 enables every online CPU, on that CPU, once; offline CPUs are
 *    never touched; 1 -> 0 disables them all; the `virt_usage` invariant
 *    holds, and is seen to fail on a planted discrepancy; enabling a CPU
 *    that is already on (its online callback) does not enable it twice.
 *  - an enable failing on one CPU rolls every CPU back, restores the count,
 *    and the error names the CPU and the reason (backend failure, the core's
 *    `inject` point, a CPU that always fails).
 *  - an incompatible CPU (either snapshot field) is refused naming the field
 *    and both values, never enabled, and `cpus` shows why.
 *  - no backend: refused with the reason, invariant still checked.
 *  - stress: 16 tasks on 8 CPUs taking and dropping references thousands of
 *    times with random enable failures, migrating, while a checker runs the
 *    registered invariants (core/check.c) throughout: no violation of the
 *    invariant, of the backend's rules, of lockdep; a task holding a
 *    reference always finds its CPU enabled; enabling always under
 *    usage_lock.
 *  - virt_init registers its life cycle (hotplug state, syscore ops, reboot
 *    notifier, emergency callback) once, and each drives the usage core.
 *  - the old design, replayed with its own lock: lockdep reports the cycle
 *    between that lock and the CPU-hotplug lock once a notifier takes it
 *    under cpus_read_lock(); the usage_lock design stays quiet.
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
#include <vigil/why.h>

#include "host_sched.h"
#include "host_smp.h"
#include "host_virt.h"
#include <vigil/emergency.h>
#include <vigil/reboot.h>
#include <vigil/syscore.h>
#include "host_cpuhp_none.h"
#include "virt_internal.h"

/* The shell (linked for the `cpus` and `inject` commands) prints these. */
const char vigil_version[] = "host-test";
const char vigil_commit[] = "host-test";

/* core/virt/vm.c (VMs, nested paging) is not built on the host; the lock it
 * owns is, for the old design's lock order. */
DEFINE_MUTEX(vm_list_lock);

INJECT_DECLARE(virt_enable_fail);

/* ---- boot and checks ---- */

/* What the kernel does before anyone can take a reference: CPUs up, the
 * command line parsed, virt_init() (boot CPU snapshot, every CPU checked). */
static void boot(unsigned possible, unsigned online, const char *cmdline)
{
	host_virt_reset();
	inject_clear_all();
	boot_params_init(cmdline ? cmdline : "");
	host_smp_start(possible, online);
	host_console_clear();
	virt_init();
}

static int teardown(void **state)
{
	host_smp_stop();
	inject_clear_all();
	if (host_virt_violations()) {
		host_console_dump();
		fail_msg("%u backend violations, the first: %s", host_virt_violations(),
			 host_virt_first_violation());
	}
	assert_int_equal(virt_usage_count(), 0);
	return host_teardown_no_violations(state);
}

static void invariant_holds(void)
{
	char why[160] = "";
	if (invariants_check(why, sizeof(why)) != 0) {
		host_console_dump();
		fail_msg("invariant: %s", why);
	}
}

/* Every online CPU is on (core flag and hardware) iff on; offline ones off. */
static void assert_cpus(bool on)
{
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		bool want = on && cpu_is_online(c);
		if (virt_cpus[c].enabled != want || host_virt_hw_on(c) != want)
			fail_msg("cpu %u: flag=%d hw=%d, expected %d", c, virt_cpus[c].enabled,
				 host_virt_hw_on(c), want);
	}
}

static void assert_has(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("'%s' lacks '%s'", text, what);
}

static void console_has(const char *what)
{
	if (!host_console_count(what)) {
		host_console_dump();
		fail_msg("console output lacks '%s'", what);
	}
}

/* ---- the fake CPUs themselves (host_smp.c) ---- */

struct seen {
	unsigned calls;
	bool on_cpu, atomic, irqs_off, in_irq;
};

/* Written by the CPU it concerns only; read after the call completed. */
static void record(void *arg)
{
	struct seen *w = &((struct seen *)arg)[smp_processor_id()];
	w->calls++;
	w->atomic = in_atomic();
	w->irqs_off = !arch_irqs_enabled();
	w->in_irq = in_interrupt();
	w->on_cpu = host_smp_in_call();
}

static unsigned async_calls[HOST_MAX_CPUS];

static void record_async(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&async_calls[smp_processor_id()], 1, __ATOMIC_RELAXED);
}

struct pinger {
	unsigned other;
	unsigned rounds;
};

static void ping_fn(void *arg)
{
	struct pinger *p = arg;
	struct seen w[HOST_MAX_CPUS];
	for (unsigned i = 0; i < p->rounds; i++) {
		smp_call_function_single(p->other, record, w, true);
		if (i % 16 == 0)
			on_each_cpu(record, w, true);
	}
}

static void test_host_cross_cpu_calls(void **state)
{
	(void)state;
	struct seen w[HOST_MAX_CPUS];

	host_smp_start(6, 4);   /* CPUs 4 and 5 offline */
	memset(w, 0, sizeof(w));
	assert_int_equal(smp_call_function_single(2, record, w, true), 0);
	assert_int_equal(w[2].calls, 1);
	/* As the IPI handler runs it: on CPU 2, in interrupt, interrupts off. */
	assert_true(w[2].on_cpu && w[2].atomic && w[2].irqs_off && w[2].in_irq);
	assert_int_equal(smp_call_function_single(5, record, w, true), -1);
	assert_int_equal(w[5].calls, 0);

	memset(w, 0, sizeof(w));
	on_each_cpu(record, w, true);
	for (unsigned c = 0; c < 6; c++)
		assert_int_equal(w[c].calls, c < 4 ? 1 : 0);
	/* The caller (CPU 0) runs it itself, interrupts off, not in an IPI. */
	assert_true(w[0].atomic && w[0].irqs_off && !w[0].in_irq);
	assert_true(w[3].in_irq);

	on_each_cpu(record_async, NULL, false);
	host_smp_quiesce();
	for (unsigned c = 0; c < 6; c++)
		assert_int_equal(__atomic_load_n(&async_calls[c], __ATOMIC_RELAXED), c < 4 ? 1 : 0);

	host_cpu_online(4);
	assert_int_equal(host_cpus_online(), 5);
	assert_int_equal(smp_call_function_single(4, record, w, true), 0);
	assert_int_equal(w[4].calls, 1);
	/* Calls queued to a CPU going offline still run there. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(smp_call_function_single(4, record_async, NULL, false), 0);
	host_cpu_offline(4);
	assert_int_equal(__atomic_load_n(&async_calls[4], __ATOMIC_RELAXED), 10);
	assert_int_equal(smp_call_function_single(4, record, w, true), -1);

	/* Two CPUs calling each other with preemption off while they wait:
	 * each serves the other's calls meanwhile, as a real CPU takes IPIs
	 * while it spins (a hang here trips the watchdog). */
	struct pinger a = { .other = 2, .rounds = 2000 }, b = { .other = 1, .rounds = 2000 };
	struct task *ta = host_task_spawn(ping_fn, &a, 1, "ping");
	struct task *tb = host_task_spawn(ping_fn, &b, 2, "pong");
	host_task_join(ta);
	host_task_join(tb);
	assert_true(host_smp_calls(1) >= 2000 && host_smp_calls(2) >= 2000);
}

/* ---- 0 -> 1 and 1 -> 0 ---- */

static void test_get_enables_online_put_disables(void **state)
{
	(void)state;
	char why[160] = "";

	boot(8, 6, NULL);   /* CPUs 6 and 7 offline */
	assert_cpus(false);
	invariant_holds();

	assert_int_equal(virt_get(why, sizeof(why)), 0);
	assert_int_equal(virt_usage_count(), 1);
	assert_cpus(true);
	for (unsigned c = 0; c < 8; c++) {
		/* Each online CPU enabled once (on itself: the backend checks),
		 * offline CPUs never looked at. */
		assert_int_equal(host_virt_enables(c), c < 6 ? 1 : 0);
		if (c >= 6)
			assert_int_equal(host_virt_snapshots(c), 0);
	}
	invariant_holds();

	/* Only the 0 -> 1 transition enables. */
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	assert_int_equal(virt_usage_count(), 2);
	virt_put();
	assert_int_equal(virt_usage_count(), 1);
	assert_cpus(true);
	for (unsigned c = 0; c < 8; c++) {
		assert_int_equal(host_virt_enables(c), c < 6 ? 1 : 0);
		assert_int_equal(host_virt_disables(c), 0);
	}

	virt_put();
	assert_int_equal(virt_usage_count(), 0);
	assert_cpus(false);
	for (unsigned c = 0; c < 8; c++)
		assert_int_equal(host_virt_disables(c), c < 6 ? 1 : 0);
	invariant_holds();

	/* The checker the stress test relies on is not vacuous. */
	virt_cpus[2].enabled = true;
	char inv[160] = "";
	assert_int_equal(invariants_check(inv, sizeof(inv)), -1);
	assert_string_equal(inv, "virt_usage: cpu 2: enabled=1 but usage_count=0");
	virt_cpus[2].enabled = false;
	invariant_holds();
}

/* ---- the boot CPU's re-enable on resume fails ---- */

/* Syscore suspend and resume on the boot CPU with interrupts off, as
 * suspend_cycle runs them (its other CPUs are offline by then; the usage
 * core does not look). */
static void syscore_cycle(void *arg)
{
	(void)arg;
	/* Through the syscore list virt_init registered with, as the
	 * suspend cycle walks it. */
	syscore_suspend();
	syscore_resume();
}

static void resume_cycle(void)
{
	assert_int_equal(smp_call_function_single(0, syscore_cycle, NULL, true), 0);
}

static void record_note(const char *name, const char *what, void *arg)
{
	char *n = arg;
	size_t used = strlen(n);
	snprintf(n + used, 200 - used, "%s%s %s", used ? "; " : "", name, what);
}

/* Holds, and returns the degraded states it noted ("" when none). */
static const char *invariant_notes(void)
{
	static char notes[200];
	char why[160] = "";
	notes[0] = 0;
	if (invariants_check_noted(why, sizeof(why), record_note, notes) != 0) {
		host_console_dump();
		fail_msg("invariant: %s", why);
	}
	return notes;
}

static void assert_degraded(void)
{
	char why[200] = "";
	assert_false(virt_cpus[0].enabled);
	assert_false(host_virt_hw_on(0));
	for (unsigned c = 1; c < nr_possible_cpus; c++)
		assert_true(virt_cpus[c].enabled && host_virt_hw_on(c));
	assert_true(virt_degraded_report(why, sizeof(why)));
	assert_string_equal(why, "CPU 0 (the boot CPU): virtualization off after resume ('virt retry' or the next "
				 "resume re-enables it): " HOST_VIRT_ENABLE_FAIL_MSG);
	assert_string_equal(virt_cpus[0].degraded, "enable_refused_by_the_host_backend_(injected)");
	assert_string_equal(invariant_notes(), "virt_usage cpu=0 reason=enable_refused_by_the_host_backend_(injected)");
}

static void assert_not_degraded(void)
{
	char why[200] = "";
	assert_false(virt_degraded_report(why, sizeof(why)));
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		assert_string_equal(virt_cpus[c].degraded, "");
	assert_string_equal(invariant_notes(), "");
}

static void test_failed_resume_enable_degrades_the_boot_cpu(void **state)
{
	(void)state;
	char why[200] = "";

	boot(4, 4, NULL);
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	resume_cycle();            /* a good cycle: off and on again */
	assert_cpus(true);
	assert_not_degraded();

	host_virt_fail_enable(0, 1);
	resume_cycle();
	assert_degraded();
	/* Precise: anything else off while VMs exist is still a violation. */
	virt_cpus[2].enabled = false;
	char inv[160] = "";
	assert_int_equal(invariants_check(inv, sizeof(inv)), -1);
	assert_string_equal(inv, "virt_usage: cpu 2: enabled=0 but usage_count=2");
	virt_cpus[2].enabled = true;
	/* ... and so is the boot CPU off without the recorded failure. */
	char saved[64];
	strcpy(saved, virt_cpus[0].degraded);
	virt_cpus[0].degraded[0] = 0;
	assert_int_equal(invariants_check(inv, sizeof(inv)), -1);
	assert_has(inv, "cpu 0: enabled=0 but usage_count=2");
	strcpy(virt_cpus[0].degraded, saved);

	/* virt retry: failing again keeps it degraded; then it works. */
	host_virt_fail_enable(0, 1);
	assert_int_equal(virt_retry(why, sizeof(why)), -1);
	assert_has(why, "CPU 0: " HOST_VIRT_ENABLE_FAIL_MSG "; still degraded");
	assert_degraded();
	assert_int_equal(virt_retry(why, sizeof(why)), 0);
	assert_cpus(true);
	assert_not_degraded();
	assert_int_equal(virt_retry(why, sizeof(why)), -1);
	assert_string_equal(why, "no CPU is degraded: nothing to retry");

	/* The next resume is a way back too. */
	host_virt_fail_enable(0, 1);
	resume_cycle();
	assert_degraded();
	resume_cycle();
	assert_cpus(true);
	assert_not_degraded();

	/* The last VM going ends it: off is then what the CPU should be. */
	host_virt_fail_enable(0, 1);
	resume_cycle();
	assert_degraded();
	virt_put();
	assert_degraded();
	virt_put();
	assert_cpus(false);
	assert_not_degraded();
	/* Without VMs a resume enables nothing, so nothing can fail. */
	host_virt_fail_enable(0, 1);
	resume_cycle();
	assert_not_degraded();
	host_virt_fail_enable(0, 0);
}

/* The core, not the hardware, makes enabling idempotent: the online
 * callback of a CPU that is already on must not enable it again (the
 * backend reports a second enable as a violation, as VMXON would fail). */
struct online_call {
	unsigned cpu;
	int r;
	char why[96];
};

static void online_callback(void *arg)
{
	struct online_call *c = arg;
	c->r = virt_cpu_online(c->cpu, c->why, sizeof(c->why));
}

static void test_enable_is_idempotent(void **state)
{
	(void)state;
	char why[160] = "";

	boot(4, 4, NULL);
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	struct online_call c = { .cpu = 2, .r = -1 };
	host_task_run(online_callback, &c, 2, "cpuhp/2");
	assert_int_equal(c.r, 0);
	assert_int_equal(host_virt_enables(2), 1);
	assert_cpus(true);
	invariant_holds();
	virt_put();
	assert_cpus(false);
}

/* ---- enable failures ---- */

static void assert_rolled_back(void)
{
	assert_int_equal(virt_usage_count(), 0);
	assert_cpus(false);
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		assert_int_equal(host_virt_enables(c), host_virt_disables(c));
	invariant_holds();
}

static void test_enable_failure_rolls_back_every_cpu(void **state)
{
	(void)state;
	char why[160] = "";

	boot(8, 8, NULL);
	host_virt_fail_enable(5, 1);
	assert_int_equal(virt_get(why, sizeof(why)), -1);
	assert_string_equal(why, "cpu 5: " HOST_VIRT_ENABLE_FAIL_MSG);
	assert_rolled_back();
	assert_int_equal(host_virt_enable_failures(5), 1);
	/* The other seven were enabled and then disabled again. */
	for (unsigned c = 0; c < 8; c++)
		assert_int_equal(host_virt_disables(c), c == 5 ? 0 : 1);
	console_has("virt: enabling failed on CPU 5 (" HOST_VIRT_ENABLE_FAIL_MSG "); rolled back on every CPU");

	/* The fault was one-shot: the next reference enables everything. */
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	assert_cpus(true);
	virt_put();
	assert_rolled_back();

	/* The core's own injection point (the `inject` command's). */
	inject_virt_enable_fail.cpu = 2;
	inject_virt_enable_fail.remaining = 1;
	__atomic_store_n(&inject_virt_enable_fail.armed, 1, __ATOMIC_RELEASE);
	/* The cause travels with the message, so callers need not search it. */
	assert_int_equal(virt_get(why, sizeof(why)), -WHY_INJECTED);
	assert_string_equal(why, "cpu 2: enable failed (injected)");
	assert_rolled_back();

	/* A CPU that always fails: refused every time, the count never sticks. */
	host_virt_fail_enable(7, -1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(virt_get(why, sizeof(why)), -1);
		assert_string_equal(why, "cpu 7: " HOST_VIRT_ENABLE_FAIL_MSG);
		assert_rolled_back();
	}
	host_virt_fail_enable(7, 0);

	/* With the count already up nothing is enabled, so nothing can fail. */
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	host_virt_fail_enable(3, 1);
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	assert_int_equal(host_virt_enable_failures(3), 0);
	virt_put();
	virt_put();
	host_virt_fail_enable(3, 0);
	assert_rolled_back();
}

/* ---- compatibility ---- */

static void test_incompatible_cpu_refused(void **state)
{
	(void)state;
	char why[160] = "";

	boot(8, 8, NULL);
	for (unsigned c = 0; c < 8; c++)
		assert_string_equal(virt_cpus[c].compat, "ok");

	host_virt_skew_snapshot(3, HOST_VIRT_FIELD_BACKEND);
	assert_int_equal(virt_get(why, sizeof(why)), -WHY_INCOMPATIBLE);
	assert_string_equal(why, "cpu 3: host_caps=0x1234aacd differs from the boot CPU's 0x1234abcd");
	/* Never enabled: the check comes before the backend is asked. */
	assert_int_equal(host_virt_enables(3), 0);
	assert_int_equal(host_virt_enable_failures(3), 0);
	assert_rolled_back();
	/* `cpus` shows the reason as one token. */
	assert_has(virt_cpus[3].compat, "host_caps=0x1234aacd_differs");
	assert_null(strchr(virt_cpus[3].compat, ' '));

	host_virt_skew_snapshot(3, NULL);
	host_virt_skew_snapshot(6, HOST_VIRT_FIELD_COMMON);
	uint64_t enables6 = host_virt_enables(6);   /* enabled and rolled back above */
	assert_int_equal(virt_get(why, sizeof(why)), -WHY_INCOMPATIBLE);
	assert_string_equal(why, "cpu 6: cr4_reserved=0xffffffffff8fe000 differs from the boot CPU's "
				 "0xffffffffff8ff000");
	assert_int_equal(host_virt_enables(6), enables6);
	assert_rolled_back();

	host_virt_skew_snapshot(6, NULL);
	if (virt_get(why, sizeof(why)) != 0)
		fail_msg("compatible again, still refused: %s", why);
	assert_cpus(true);
	assert_string_equal(virt_cpus[3].compat, "ok");
	assert_string_equal(virt_cpus[6].compat, "ok");
	virt_put();
	assert_rolled_back();

	/* Found at boot already: virt_init checks every online CPU. */
	host_smp_stop();
	host_virt_reset();
	host_virt_skew_snapshot(4, HOST_VIRT_FIELD_BACKEND);
	host_smp_start(8, 8);
	host_console_clear();
	virt_init();
	console_has("virt: CPU 4 is incompatible with the boot CPU: host_caps=0x1234aacd differs");
	assert_has(virt_cpus[4].compat, "host_caps");
	assert_string_equal(virt_cpus[5].compat, "ok");
	assert_int_equal(virt_get(why, sizeof(why)), -WHY_INCOMPATIBLE);
	assert_has(why, "cpu 4: host_caps=");
	assert_rolled_back();
	host_virt_skew_snapshot(4, NULL);
}

static void test_no_backend(void **state)
{
	(void)state;
	char why[160] = "";

	boot(4, 4, NULL);
	host_virt_set_available(false);
	virt_init();
	assert_int_equal(virt_get(why, sizeof(why)), -1);
	assert_string_equal(why, "virtualization unavailable: no virtualization (host test)");
	assert_int_equal(virt_usage_count(), 0);
	assert_string_equal(virt_cpus[1].compat, "n/a");
	invariant_holds();
	host_virt_set_available(true);
	virt_init();
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	assert_cpus(true);
	virt_put();
	assert_rolled_back();
}

/* ---- stress ---- */

#define STRESS_CPUS 8
#define STRESS_TASKS 16
#define STRESS_ITERS_DEFAULT 2000
#define STRESS_FAIL_PERMILLE 40   /* per CPU enable: ~28% of the 0 -> 1 transitions fail */

struct stresser {
	unsigned index;
	unsigned iters;
	uint64_t rng;
	/* results, read after join */
	unsigned long got, failed, bad_why, not_enabled;
	char first_bad[160];
};

static int checker_stop;
static unsigned long checks, check_failures;
static char first_check_failure[200];
static unsigned long enables_without_usage_lock;

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void checker_fn(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&checker_stop, __ATOMIC_ACQUIRE)) {
		char why[160] = "";
		if (invariants_check(why, sizeof(why)) != 0 && check_failures++ == 0)
			snprintf(first_check_failure, sizeof(first_check_failure), "%s", why);
		checks++;
		host_yield();
	}
}

/* Every enable and disable runs under usage_lock (held by whoever made
 * the transition, on another thread than the CPU's worker). */
static void usage_lock_hook(const char *op, unsigned cpu)
{
	(void)op;
	(void)cpu;
	if (!mutex_owner(&usage_lock))
		__atomic_add_fetch(&enables_without_usage_lock, 1, __ATOMIC_RELAXED);
}

static void stress_fn(void *arg)
{
	struct stresser *s = arg;
	char why[160];

	for (unsigned i = 0; i < s->iters; i++) {
		uint64_t r = xorshift(&s->rng);
		if ((r & 3) == 0)
			host_task_set_cpu((unsigned)(r >> 8) % STRESS_CPUS);
		unsigned want = (r >> 16) % 8 == 0 ? 2 : 1, have = 0;
		while (have < want) {
			why[0] = '\0';
			if (virt_get(why, sizeof(why)) != 0) {
				/* Only an injected failure may refuse, named with its CPU. */
				s->failed++;
				if (strncmp(why, "cpu ", 4) || !strstr(why, ": " HOST_VIRT_ENABLE_FAIL_MSG)) {
					if (s->bad_why++ == 0)
						snprintf(s->first_bad, sizeof(s->first_bad), "%s", why);
				}
				break;
			}
			have++;
			s->got++;
		}
		if (have) {
			/* Holding a reference: this CPU (any online CPU) is on. */
			preempt_disable();
			unsigned cpu = smp_processor_id();
			if (!virt_cpus[cpu].enabled || !host_virt_hw_on(cpu))
				s->not_enabled++;
			preempt_enable();
			if ((r >> 24) % 4 == 0)
				host_yield();
		}
		while (have--)
			virt_put();
		/* Off the CPU for a while now and then, so the count falls to 0
		 * often: the transitions are what the stress is about. */
		if ((r >> 32) % 4 == 0)
			host_msleep(1);
		else
			host_yield();
	}
}

static void test_stress_with_invariant_checked_throughout(void **state)
{
	(void)state;
	static struct stresser s[STRESS_TASKS];
	struct task *t[STRESS_TASKS];
	unsigned iters = STRESS_ITERS_DEFAULT;
	const char *env = getenv("VIGIL_VIRT_STRESS_ITERS");

	if (env && atoi(env) > 0)
		iters = (unsigned)atoi(env);
	boot(STRESS_CPUS, STRESS_CPUS, NULL);
	host_virt_fail_random(STRESS_FAIL_PERMILLE);
	host_virt_set_hook(usage_lock_hook);
	checker_stop = 0;
	checks = check_failures = 0;
	enables_without_usage_lock = 0;

	struct task *checker = host_task_spawn(checker_fn, NULL, STRESS_CPUS - 1, "checker");
	for (unsigned i = 0; i < STRESS_TASKS; i++) {
		s[i] = (struct stresser){ .index = i, .iters = iters, .rng = 0x9e3779b97f4a7c15ull * (i + 1) };
		t[i] = host_task_spawn(stress_fn, &s[i], i % STRESS_CPUS, "stress");
	}
	for (unsigned i = 0; i < STRESS_TASKS; i++)
		host_task_join(t[i]);
	__atomic_store_n(&checker_stop, 1, __ATOMIC_RELEASE);
	host_task_join(checker);
	host_virt_fail_random(0);
	host_virt_set_hook(NULL);

	unsigned long got = 0, failed = 0, bad_why = 0, not_enabled = 0;
	uint64_t enables = 0, failures = 0;
	for (unsigned i = 0; i < STRESS_TASKS; i++) {
		got += s[i].got;
		failed += s[i].failed;
		bad_why += s[i].bad_why;
		not_enabled += s[i].not_enabled;
		if (s[i].bad_why)
			print_message("task %u: unexpected error '%s'\n", i, s[i].first_bad);
	}
	for (unsigned c = 0; c < STRESS_CPUS; c++) {
		enables += host_virt_enables(c);
		failures += host_virt_enable_failures(c);
	}
	print_message("virt stress: %lu references, %lu refused, %lu cpu enables (~%lu transitions to 1), "
		      "%lu injected failures, %lu invariant checks\n",
		      got, failed, (unsigned long)enables, (unsigned long)(enables / STRESS_CPUS),
		      (unsigned long)failures, checks);

	if (check_failures) {
		host_console_dump();
		fail_msg("invariant failed %lu of %lu times, first: %s", check_failures, checks,
			 first_check_failure);
	}
	assert_int_equal(bad_why, 0);
	assert_int_equal(not_enabled, 0);
	assert_int_equal(enables_without_usage_lock, 0);
	/* The stress did what it is for: many transitions, failures among them,
	 * and the checker ran throughout. */
	assert_true(checks >= 10);
	assert_true(enables >= 50 * STRESS_CPUS);
	assert_true(failures > 0 && failed > 0);
	assert_int_equal(virt_usage_count(), 0);
	assert_rolled_back();
}

/* ---- lock order: the usage_lock design and the old one ---- */

static struct mutex *expected_count_lock;
static unsigned long ops_under_count_lock, ops_outside_count_lock;

static void count_lock_hook(const char *op, unsigned cpu)
{
	(void)op;
	(void)cpu;
	if (mutex_owner(expected_count_lock))
		__atomic_add_fetch(&ops_under_count_lock, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&ops_outside_count_lock, 1, __ATOMIC_RELAXED);
}

/* Linux's kvmclock cpufreq notifier: called with the CPU-hotplug lock
 * held, it walks the VM list. */
static void clock_change_notifier(void)
{
	cpus_read_lock();
	mutex_lock(&vm_list_lock);
	mutex_unlock(&vm_list_lock);
	cpus_read_unlock();
}

/* core/virt/vm.c's vm_create/vm_destroy, their locking only. */
static void vm_create_locking(void)
{
	char why[160];
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	mutex_lock(&vm_list_lock);   /* (the VM joins the list) */
	mutex_unlock(&vm_list_lock);
}

static void vm_destroy_locking(void)
{
	mutex_lock(&vm_list_lock);   /* (the VM leaves the list) */
	mutex_unlock(&vm_list_lock);
	virt_put();
}

static void test_lock_order_old_design_cycle(void **state)
{
	(void)state;

	/* usage_lock design: a VM's life and the notifier, no report. */
	boot(4, 4, NULL);
	expected_count_lock = &usage_lock;
	ops_under_count_lock = ops_outside_count_lock = 0;
	host_virt_set_hook(count_lock_hook);
	lockdep_expect_begin();
	vm_create_locking();
	clock_change_notifier();
	vm_destroy_locking();
	assert_int_equal(lockdep_expect_end(), 0);
	assert_int_equal(ops_under_count_lock, 8);   /* 4 enables, 4 disables */
	assert_int_equal(ops_outside_count_lock, 0);
	host_virt_set_hook(NULL);

	/* The old design, replayed with its own lock (what the
	 * virt_lock_order self-test runs): the count's lock taken outside
	 * the hotplug lock, then the notifier inside it closes the cycle. */
	lockdep_expect_begin();
	virt_replay_old_lock_design();
	unsigned reports = lockdep_expect_end();
	if (reports < 1) {
		host_console_dump();
		fail_msg("old design: lockdep did not report the old_vm_list_lock / cpu_hotplug_lock cycle");
	}
	console_has("possible circular locking dependency detected");
	console_has("new dependency: cpu_hotplug_lock -> old_vm_list_lock");
	console_has("existing dependency chain old_vm_list_lock -> ... -> cpu_hotplug_lock");
	/* The production path is untouched by the replay: still quiet. */
	lockdep_expect_begin();
	vm_create_locking();
	clock_change_notifier();
	vm_destroy_locking();
	assert_int_equal(lockdep_expect_end(), 0);
}

/* ---- the life cycle, through the interfaces virt registered with ---- */

static void emergency_here(void *arg)
{
	*(int *)arg = emergency_callbacks_run();
}

static void registered_online(void *arg)
{
	struct online_call *c = arg;
	c->r = host_cpuhp_none_states[0].startup(c->cpu, c->why, sizeof(c->why));
}

static void test_lifecycle_registered_once(void **state)
{
	(void)state;
	char why[160];
	boot(4, 4, NULL);
	host_smp_stop();
	boot(4, 4, NULL);   /* a second virt_init registers nothing again */
	assert_int_equal(host_cpuhp_none_count, 1);
	assert_string_equal(host_cpuhp_none_states[0].name, "virt:online");
	assert_int_equal(virt_hotplug_state, 0);
	/* (The reboot notifier latches `rebooting` for good: test_virt_reboot.c.) */

	/* The hotplug state's teardown and startup are the usage core's. */
	assert_int_equal(virt_get(why, sizeof(why)), 0);
	assert_true(virt_cpu_enabled(2));

	/* The emergency walk leaves virtualization on the CPU it runs on. */
	int v = 7;
	assert_int_equal(smp_call_function_single(2, emergency_here, &v, true), 0);
	assert_int_equal(v, 0);
	assert_false(virt_cpu_enabled(2));
	assert_false(host_virt_hw_on(2));
	assert_true(virt_cpu_enabled(1));
	/* Bring CPU 2 back in line for the invariant: as the hotplug
	 * thread would on the way up. */
	struct online_call c = { .cpu = 2 };
	host_task_run(registered_online, &c, 2, "cpuhp/2");
	assert_int_equal(c.r, 0);
	assert_true(virt_cpu_enabled(2) && host_virt_hw_on(2));
	virt_put();
	assert_int_equal(host_virt_violations(), 0);
}

int main(void)
{
	host_watchdog(540);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_host_cross_cpu_calls, teardown),
		cmocka_unit_test_teardown(test_get_enables_online_put_disables, teardown),
		cmocka_unit_test_teardown(test_enable_is_idempotent, teardown),
		cmocka_unit_test_teardown(test_failed_resume_enable_degrades_the_boot_cpu, teardown),
		cmocka_unit_test_teardown(test_enable_failure_rolls_back_every_cpu, teardown),
		cmocka_unit_test_teardown(test_incompatible_cpu_refused, teardown),
		cmocka_unit_test_teardown(test_no_backend, teardown),
		cmocka_unit_test_teardown(test_stress_with_invariant_checked_throughout, teardown),
		cmocka_unit_test_teardown(test_lifecycle_registered_once, teardown),
		/* Last: the cycle it plants stays in lockdep's graph. */
		cmocka_unit_test_teardown(test_lock_order_old_design_cycle, teardown),
	};
	return cmocka_run_group_tests_name("virt_usage", tests, NULL, NULL);
}

/*
 * Host tests of the entry gate (core/virt/vm_gate.c, the real code) on real
 * threads pinned to fake CPUs, under ThreadSanitizer.
 *
 * Each fake vCPU runs the loop of core/virt/vcpu.c in miniature: requests
 * at the top, the freezer, a closed CPU it must leave, then vm_gate_enter(),
 * preemption off, guest mode published (seq_cst xchg) and the requests
 * re-checked, a "guest" that polls until it is kicked (mode IN -> EXITING)
 * or exits on its own, the exit's handling, vm_gate_leave().  The updater
 * closes the gate with a kick that makes a request and moves IN to EXITING,
 * then "applies" the change with `applying` set.  The vCPUs check, while in
 * the guest and while handling an exit, that `applying` is never set: the
 * property the gate exists for (Model 3's half_update_seen).
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
#include <vigil/sched.h>
#include <vigil/vm_gate.h>
#include <vigil/waitqueue.h>

#include "host_sched.h"

#define NV 3
#define GUEST_POLLS 200

enum { OUT = 0, IN = 1, EXITING = 2 };

struct fvcpu {
	unsigned index;
	int requests;              /* atomic */
	int mode;                  /* atomic */
	int cpu;                   /* atomic: its fake CPU */
	int where;                 /* atomic: CPU while it has its indicator, else -1 */
	int frozen;                /* atomic */
	int parked;                /* atomic: asleep at the closed gate */
	unsigned long entries;     /* atomic */
	struct wait_queue_head wait;
	struct task *task;
};

static struct vm_gate gate;
static struct fvcpu vc[NV];
static int applying;               /* atomic: the updater is "changing the slots" */
static int violations;             /* atomic */
static int stop;                   /* atomic */
static int freeze;                 /* atomic */
static int closed_cpu = -1;        /* atomic: a CPU going offline */

static int ld(const int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void st(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

static void check_not_applying(const char *where)
{
	if (ld(&applying)) {
		__atomic_add_fetch(&violations, 1, __ATOMIC_SEQ_CST);
		printf("VIOLATION: a vCPU %s while the update was applied\n", where);
	}
}

static void vcpu_loop(void *arg)
{
	struct fvcpu *v = arg;
	while (!ld(&stop)) {
		st(&v->requests, 0);
		if (ld(&freeze)) {
			st(&v->frozen, 1);
			wait_event(&v->wait, !ld(&freeze) || ld(&stop));
			st(&v->frozen, 0);
			continue;
		}
		if (ld(&v->cpu) == ld(&closed_cpu)) {
			int to = (ld(&v->cpu) % NV) + 1;   /* CPUs 1..NV */
			if (to == ld(&closed_cpu))
				to = (to % NV) + 1;
			st(&v->cpu, to);
			host_task_set_cpu((unsigned)to);
			continue;
		}
		preempt_disable();
		if (!vm_gate_enter(&gate)) {
			preempt_enable();
			uint64_t t0 = arch_time_ns();
			st(&v->parked, 1);
			wait_event(&v->wait, !vm_gate_is_closed(&gate) || ld(&v->requests) || ld(&stop) ||
					      ld(&freeze));
			st(&v->parked, 0);
			vm_gate_count_blocked(&gate, arch_time_ns() - t0);
			continue;
		}
		/* where: before the look at the closed CPU (the offline side
		 * stores closed_cpu, then looks at where). */
		st(&v->where, ld(&v->cpu));
		__atomic_exchange_n(&v->mode, IN, __ATOMIC_SEQ_CST);
		if (ld(&v->requests) || ld(&v->cpu) == ld(&closed_cpu)) {
			st(&v->mode, OUT);
			st(&v->where, -1);
			vm_gate_leave(&gate);
			preempt_enable();
			continue;
		}
		for (int i = 0; i < GUEST_POLLS && ld(&v->mode) == IN; i++)
			check_not_applying("ran guest code");
		st(&v->mode, OUT);
		check_not_applying("handled an exit"); /* the exit's slot lookup */
		__atomic_add_fetch(&v->entries, 1, __ATOMIC_SEQ_CST);
		st(&v->where, -1);
		vm_gate_leave(&gate);
		preempt_enable();
	}
}

static unsigned long kicks;

/* request, then IN -> EXITING (the IPI), then wake a sleeper */
static void kick_one(struct fvcpu *v)
{
	__atomic_or_fetch(&v->requests, 1, __ATOMIC_SEQ_CST);
	int in = IN;
	if (__atomic_compare_exchange_n(&v->mode, &in, EXITING, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		__atomic_add_fetch(&kicks, 1, __ATOMIC_RELAXED);
	wake_up_all(&v->wait);
}

static void kick_all(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < NV; i++)
		kick_one(&vc[i]);
}

static void wake_all(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < NV; i++)
		wake_up_all(&vc[i].wait);
}

static void start_vcpus(void)
{
	vm_gate_init(&gate);
	st(&stop, 0);
	st(&freeze, 0);
	st(&closed_cpu, -1);
	st(&violations, 0);
	for (unsigned i = 0; i < NV; i++) {
		struct fvcpu *v = &vc[i];
		memset(v, 0, sizeof(*v));
		v->index = i;
		v->cpu = (int)i + 1;
		v->where = -1;
		init_waitqueue_head(&v->wait);
		v->task = host_task_spawn(vcpu_loop, v, i + 1, "vcpu");
	}
}

static void stop_vcpus(void)
{
	st(&stop, 1);
	for (unsigned i = 0; i < NV; i++) {
		kick_one(&vc[i]);
		host_task_join(vc[i].task);
	}
}

static unsigned long entries(unsigned i)
{
	return __atomic_load_n(&vc[i].entries, __ATOMIC_SEQ_CST);
}

/* Every vCPU enters the guest again (polling; the watchdog ends a hang). */
static void wait_progress(void)
{
	unsigned long base[NV];
	for (unsigned i = 0; i < NV; i++)
		base[i] = entries(i);
	for (unsigned i = 0; i < NV; i++)
		while (entries(i) < base[i] + 3)
			host_yield();
}

/* One atomic update: close, apply (no vCPU inside), open. */
static void one_update(void)
{
	vm_gate_close(&gate, kick_all, NULL);
	/* (gate.inside may be 1 for a moment here: a vCPU that counted
	 * itself, will see the gate closed and back out without entering.) */
	st(&applying, 1);
	for (unsigned i = 0; i < NV; i++)
		if (ld(&vc[i].mode) == IN) {
			__atomic_add_fetch(&violations, 1, __ATOMIC_SEQ_CST);
			printf("VIOLATION: vCPU %u in guest mode when the update applies\n", i);
		}
	host_yield();
	st(&applying, 0);
	vm_gate_open(&gate, wake_all, NULL);
}

static void updater(void *arg)
{
	unsigned n = *(unsigned *)arg;
	for (unsigned k = 0; k < n; k++)
		one_update();
}

/* Many updates against three looping vCPUs: none sees one applied. */
static void test_updater_never_overlaps_a_vcpu(void **state)
{
	(void)state;
	host_watchdog(60);
	start_vcpus();
	wait_progress();
	unsigned n = 2000;
	host_task_run(updater, &n, 0, "updater");
	wait_progress();  /* blocked vCPUs resume */
	stop_vcpus();
	assert_int_equal(ld(&violations), 0);
	assert_int_equal(gate.inhibitions, n);
	printf("updates=%u blocked_entries=%lu blocked_us=%lu kicks=%lu\n", n, (unsigned long)gate.blocked,
	       (unsigned long)(gate.blocked_ns / 1000), kicks);
}

static bool all_parked(void)
{
	for (unsigned i = 0; i < NV; i++)
		if (!ld(&vc[i].parked))
			return false;
	return true;
}

/* With the gate closed every vCPU ends up asleep at it (no spinning: it
 * is in schedule()), none enters; opening it lets them all run again. */
static void test_blocked_vcpus_sleep_and_resume(void **state)
{
	(void)state;
	host_watchdog(60);
	start_vcpus();
	wait_progress();
	vm_gate_close(&gate, kick_all, NULL);
	while (!all_parked())
		host_yield();
	for (unsigned i = 0; i < NV; i++)
		host_wait_until_sleeping(vc[i].task);
	unsigned long before[NV];
	for (unsigned i = 0; i < NV; i++)
		before[i] = entries(i);
	host_msleep(20);
	for (unsigned i = 0; i < NV; i++) {
		assert_int_equal(entries(i), before[i]);
		assert_true(host_task_sleeping(vc[i].task));
	}
	vm_gate_open(&gate, wake_all, NULL);
	wait_progress();
	stop_vcpus();
	assert_true(gate.blocked >= NV);
	assert_true(gate.blocked_ns > 0);
	assert_int_equal(ld(&violations), 0);
}

/* A CPU going offline while an update holds the gate closed: the offline
 * side closes the CPU, kicks, and waits until no vCPU has its indicator
 * on it -- which the vCPUs parked at the gate do not have.  Neither waits
 * for the other: both finish, and the vCPUs then run on the other CPUs. */
struct offline_arg {
	int cpu;
	int done;
};

static void offline(void *arg)
{
	struct offline_arg *o = arg;
	st(&closed_cpu, o->cpu);
	kick_all(NULL);
	for (unsigned i = 0; i < NV; i++)
		for (unsigned long k = 0; ld(&vc[i].where) == o->cpu; k++) {
			if (k % 1000000 == 999999)
				printf("offline: vcpu %u where=%d cpu=%d mode=%d parked=%d inside=%d closed=%d\n", i,
				       ld(&vc[i].where), ld(&vc[i].cpu), ld(&vc[i].mode), ld(&vc[i].parked),
				       ld(&gate.inside), ld(&gate.closed));
			host_yield();
		}
	st(&o->done, 1);
}

static void test_cpu_offline_during_update(void **state)
{
	(void)state;
	host_watchdog(60);
	start_vcpus();
	wait_progress();
	vm_gate_close(&gate, kick_all, NULL);
	struct offline_arg o = { .cpu = 2 };
	host_task_run(offline, &o, 0, "offline");
	assert_int_equal(ld(&o.done), 1);
	vm_gate_open(&gate, wake_all, NULL);
	wait_progress();
	/* ... and with the offline racing a stream of updates. */
	st(&closed_cpu, -1);
	unsigned n = 300;
	struct task *u = host_task_spawn(updater, &n, 0, "updater");
	struct offline_arg o2 = { .cpu = 3 };
	host_task_run(offline, &o2, 0, "offline");
	host_task_join(u);
	wait_progress();
	for (unsigned i = 0; i < NV; i++)
		assert_int_not_equal(ld(&vc[i].cpu), 3);
	stop_vcpus();
	assert_int_equal(ld(&violations), 0);
}

/* Suspend in the middle of an update: vCPUs parked at the gate see the
 * freeze and freeze; after the thaw and the open they run. */
static void test_freeze_during_update(void **state)
{
	(void)state;
	host_watchdog(60);
	start_vcpus();
	wait_progress();
	vm_gate_close(&gate, kick_all, NULL);
	st(&freeze, 1);
	wake_all(NULL);
	for (unsigned i = 0; i < NV; i++)
		while (!ld(&vc[i].frozen))
			host_yield();
	vm_gate_open(&gate, wake_all, NULL);
	st(&freeze, 0);
	wake_all(NULL);
	wait_progress();
	stop_vcpus();
	assert_int_equal(ld(&violations), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_updater_never_overlaps_a_vcpu, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_blocked_vcpus_sleep_and_resume, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_cpu_offline_during_update, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_freeze_during_update, host_teardown_no_violations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Host tests for vCPU requests and kicks (core/virt/vcpu_request.c, the real
 * code) on threads under ThreadSanitizer.
 *
 * Fake vCPUs are tasks on their own fake CPUs looping as the vCPU task will:
 * handle requests, sometimes block as on HLT (vcpu_wait_event), turn
 * interrupts off, vcpu_enter_guest_mode(), "run the guest" (poll until a
 * kick IPI arrives, or exit by itself after a while), vcpu_exit_guest_mode(),
 * interrupts on (a kick IPI still pending is taken there).  arch_send_ipi()
 * below is the fake interrupt: it marks the target CPU's IPI pending.
 * Requester tasks own one request bit each and, per round and per vCPU, make
 * the request and kick (or vcpu_request_and_wait()), then wait until the
 * vCPU consumed it.
 *
 * The checker (guest_sees_missed_request) runs inside the fake guest: a
 * request whose maker has already returned from its make+kick (or from its
 * wait), still pending, while this vCPU is IN_GUEST_MODE (not EXITING), was
 * missed -- the maker's kick attempt came after its set, so it saw either
 * this entry's IN_GUEST_MODE (and would have moved it to EXITING) or an
 * earlier mode, in which case the bit was set before this entry's mode
 * store and the re-check should have refused the entry.  Generations tell
 * one request instance from the next.  At the end: every IPI sent was for a
 * kicked entry (kicks == acknowledged exits), a STOP request ended every
 * loop, and the watchdog turns any lost wake-up (a requester waiting for an
 * acknowledgement, a vCPU blocked on HLT) into a failure.
 *
 * The same stress with deliberately broken copies (an entry without the
 * re-check; a kick without the cmpxchg) must make the checker fire: the
 * checker is known to be able to fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/arch.h>
#include <vigil/atomic.h>
#include <vigil/sched.h>
#include <vigil/vcpu_request.h>

#include "host_sched.h"

#define NVCPU 2
#define VCPU_CPU0 1                /* vCPU i runs on fake CPU 1 + i */
#define GUEST_POLLS 256            /* a guest exits by itself after this many polls */
#define HALT_EVERY 7               /* one loop in 7 blocks as on HLT */

static const enum vcpu_request worker_bits[] = { VCPU_REQ_PAUSE, VCPU_REQ_TLB_FLUSH, VCPU_REQ_RELOAD };
#define NWORKERS (sizeof(worker_bits) / sizeof(worker_bits[0]))

struct variant {
	const char *name;
	bool (*enter)(struct vcpu_requests *v, unsigned cpu);
	bool (*kick)(struct vcpu_requests *v);
	bool wait_helper;          /* the PAUSE requester uses vcpu_request_and_wait() */
	bool stop_at_violation;    /* broken copies: stop once the checker fired */
};

struct fake_vcpu {
	struct vcpu_requests req;
	unsigned cpu;
	/* Per request bit: generation of the instance being made, and of the
	 * last instance whose maker returned (0: none). */
	unsigned long made_gen[VCPU_REQ_NR];
	unsigned long returned_gen[VCPU_REQ_NR];
	unsigned long handled[VCPU_REQ_NR];   /* vCPU task only */
	unsigned long entries, in_stores, halts, kicked_exits;
	int violations;
	bool stopped;
};

static struct fake_vcpu vcpus[NVCPU];
static int ipi_pending[HOST_MAX_CPUS];
static unsigned long ipis_sent;
static const struct variant *variant;
static int violations_total;
static unsigned rounds;

static unsigned long ld(const unsigned long *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void st(unsigned long *p, unsigned long v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static bool stop_now(void)
{
	return variant->stop_at_violation && __atomic_load_n(&violations_total, __ATOMIC_SEQ_CST) > 0;
}

/* The fake interrupt controller. */
void arch_send_ipi(unsigned cpu, enum ipi_kind kind)
{
	assert_int_equal(kind, IPI_VCPU_KICK);
	assert_true(cpu >= VCPU_CPU0 && cpu < VCPU_CPU0 + NVCPU);
	__atomic_fetch_add(&ipis_sent, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ipi_pending[cpu], 1, __ATOMIC_SEQ_CST);
}

static bool take_ipi(unsigned cpu)
{
	return __atomic_exchange_n(&ipi_pending[cpu], 0, __ATOMIC_SEQ_CST) != 0;
}

/* ---- the checker ---- */

static bool guest_sees_missed_request(struct fake_vcpu *fv)
{
	for (unsigned b = 0; b < VCPU_REQ_NR; b++) {
		unsigned long g1 = ld(&fv->returned_gen[b]);
		if (!g1 || !vcpu_test_request(&fv->req, b))
			continue;
		int mode = atomic_fetch_add(&fv->req.mode, 0);
		unsigned long g2 = ld(&fv->made_gen[b]);
		if (mode == IN_GUEST_MODE && g1 == g2) {
			print_message("%s: vCPU on cpu %u runs the guest with request %u (generation %lu) "
				      "missed: its maker returned, the entry is still IN_GUEST_MODE (not kicked)\n",
				      variant->name, fv->cpu, b, g1);
			return true;
		}
	}
	return false;
}

/* ---- the fake vCPU task ---- */

static void guest_run(struct fake_vcpu *fv)
{
	for (unsigned i = 0; i < GUEST_POLLS; i++) {
		if (take_ipi(fv->cpu)) {
			fv->kicked_exits++;
			return;
		}
		if (guest_sees_missed_request(fv)) {
			fv->violations++;
			__atomic_fetch_add(&violations_total, 1, __ATOMIC_SEQ_CST);
			return;
		}
		host_yield();
	}
}

static void vcpu_fn(void *arg)
{
	struct fake_vcpu *fv = arg;
	unsigned long loops = 0;

	for (;;) {
		if (vcpu_test_request(&fv->req, VCPU_REQ_STOP) || stop_now())
			break;
		for (unsigned i = 0; i < NWORKERS; i++)
			if (vcpu_check_request(&fv->req, worker_bits[i]))
				fv->handled[worker_bits[i]]++;
		/* Work between the request check and the entry: the window a
		 * missing re-check loses requests in. */
		host_yield();
		if (++loops % HALT_EVERY == 0) {
			fv->halts++;
			vcpu_wait_event(&fv->req, stop_now());
			continue;
		}
		unsigned long flags = arch_irq_save();
		fv->in_stores++;
		if (!variant->enter(&fv->req, fv->cpu)) {
			arch_irq_restore(flags);
			take_ipi(fv->cpu);
			continue;
		}
		fv->entries++;
		guest_run(fv);
		vcpu_exit_guest_mode(&fv->req);
		arch_irq_restore(flags);
		take_ipi(fv->cpu);   /* a late kick is taken with interrupts on */
	}
	/* A stopped vCPU does not enter again: the loop is gone, and while it
	 * ran no entry passed the re-check with STOP made (the checker). */
	assert_int_equal(vcpu_mode(&fv->req), OUTSIDE_GUEST_MODE);
	fv->stopped = true;
}

/* ---- requesters ---- */

static unsigned long generation;

static void make_one(struct fake_vcpu *fv, enum vcpu_request b, bool wait)
{
	unsigned long gen = __atomic_add_fetch(&generation, 1, __ATOMIC_SEQ_CST);

	st(&fv->made_gen[b], gen);
	if (wait) {
		vcpu_request_and_wait(&fv->req, b);
		/* Acknowledged: it is outside, or left the entry it was in. */
	} else {
		vcpu_make_request(&fv->req, b);
		variant->kick(&fv->req);
	}
	st(&fv->returned_gen[b], gen);
}

static void requester_fn(void *arg)
{
	enum vcpu_request b = (enum vcpu_request)(uintptr_t)arg;
	bool wait = variant->wait_helper && b == VCPU_REQ_PAUSE;
	unsigned seed = (unsigned)b * 7919u + 1;

	for (unsigned r = 0; r < rounds && !stop_now(); r++) {
		for (unsigned i = 0; i < NVCPU; i++) {
			struct fake_vcpu *fv = &vcpus[i];
			make_one(fv, b, wait);
			/* One instance at a time: wait until it was consumed. */
			while (vcpu_test_request(&fv->req, b) && !stop_now())
				host_yield();
			/* A pause, so that the vCPU also gets into the guest
			 * with nothing pending and the next request finds it
			 * there (and needs the kick). */
			for (unsigned n = (unsigned)rand_r(&seed) % 16; n; n--)
				host_yield();
		}
	}
}

/* ---- the stress, for any variant ---- */

static void run_stress(const struct variant *var, unsigned nrounds)
{
	struct task *vt[NVCPU], *rt[NWORKERS];

	variant = var;
	rounds = nrounds;
	violations_total = 0;
	ipis_sent = 0;
	generation = 0;
	for (unsigned i = 0; i < NVCPU; i++) {
		struct fake_vcpu *fv = &vcpus[i];
		*fv = (struct fake_vcpu){ .cpu = VCPU_CPU0 + i };
		vcpu_requests_init(&fv->req);
		ipi_pending[fv->cpu] = 0;
		vt[i] = host_task_spawn(vcpu_fn, fv, fv->cpu, "vcpu");
	}
	for (unsigned w = 0; w < NWORKERS; w++)
		rt[w] = host_task_spawn(requester_fn, (void *)(uintptr_t)worker_bits[w], VCPU_CPU0 + NVCPU + w,
					"requester");
	for (unsigned w = 0; w < NWORKERS; w++)
		host_task_join(rt[w]);
	for (unsigned i = 0; i < NVCPU; i++)
		make_one(&vcpus[i], VCPU_REQ_STOP, false);
	for (unsigned i = 0; i < NVCPU; i++)
		host_task_join(vt[i]);

	for (unsigned i = 0; i < NVCPU; i++) {
		struct fake_vcpu *fv = &vcpus[i];
		print_message("%s: vcpu %u: %lu entries (%lu IN stores, %d cancelled), %lu kicked exits, "
			      "%d kicks, %d acks, %lu halts, %d violations\n",
			      var->name, i, fv->entries, fv->in_stores, atomic_read(&fv->req.entries_cancelled),
			      fv->kicked_exits, atomic_read(&fv->req.kicks), atomic_read(&fv->req.acks), fv->halts,
			      fv->violations);
		assert_true(fv->stopped);
	}
}

static bool real_enter(struct vcpu_requests *v, unsigned cpu)
{
	return vcpu_enter_guest_mode(v, cpu, NULL, NULL);
}

static const struct variant real = {
	.name = "real", .enter = real_enter, .kick = vcpu_kick, .wait_helper = true,
};

static void test_no_request_missed(void **state)
{
	(void)state;
	run_stress(&real, 2000);
	assert_int_equal(violations_total, 0);
	for (unsigned i = 0; i < NVCPU; i++) {
		struct fake_vcpu *fv = &vcpus[i];
		/* Every instance was consumed once. */
		for (unsigned w = 0; w < NWORKERS; w++)
			assert_int_equal(fv->handled[worker_bits[w]], rounds);
		/* Kicks only for entries in guest mode, once each: every IPI
		 * sent moved one entry IN -> EXITING, and that entry's exit
		 * acknowledged it. */
		assert_int_equal(atomic_read(&fv->req.kicks), atomic_read(&fv->req.acks));
		assert_true((unsigned long)atomic_read(&fv->req.kicks) <= fv->in_stores);
		assert_true(fv->halts > 0);
	}
}

/* ---- deliberately broken copies, driven by the same checker ---- */

/* vcpu_enter_guest_mode() without the re-check after the mode store: a
 * request set after the loop's check, whose kicker read OUTSIDE, is lost. */
static bool enter_without_recheck(struct vcpu_requests *v, unsigned cpu)
{
	WRITE_ONCE(v->cpu, (int)cpu);
	atomic_xchg(&v->mode, IN_GUEST_MODE);
	return true;
}

static const struct variant broken_no_recheck = {
	.name = "broken-no-recheck", .enter = enter_without_recheck, .kick = vcpu_kick,
	.stop_at_violation = true,
};

static void test_checker_catches_missing_recheck(void **state)
{
	(void)state;
	run_stress(&broken_no_recheck, 20000);
	assert_true(violations_total > 0);
}

/* vcpu_kick() reading the mode instead of cmpxchg'ing it: every kicker that
 * sees IN sends an IPI, none moves the entry to EXITING, so no exit
 * acknowledges them (and a vcpu_request_and_wait() caller would sleep for
 * ever: left out here). */
static bool kick_without_cmpxchg(struct vcpu_requests *v)
{
	if (wq_has_sleeper(&v->wait))
		wake_up_all(&v->wait);
	if (atomic_fetch_add(&v->mode, 0) != IN_GUEST_MODE)
		return false;
	atomic_inc(&v->kicks);
	arch_send_ipi((unsigned)READ_ONCE(v->cpu), IPI_VCPU_KICK);
	return true;
}

static const struct variant broken_kick = {
	.name = "broken-kick-no-cmpxchg", .enter = real_enter, .kick = kick_without_cmpxchg,
};

static void test_checker_catches_kick_without_cmpxchg(void **state)
{
	(void)state;
	run_stress(&broken_kick, 100);
	/* Without EXITING the checker also sees kicked entries still
	 * IN_GUEST_MODE; the count mismatch is the direct symptom. */
	bool mismatch = false;
	for (unsigned i = 0; i < NVCPU; i++)
		mismatch |= atomic_read(&vcpus[i].req.kicks) != atomic_read(&vcpus[i].req.acks);
	assert_true(mismatch);
}

/* ---- single-threaded behaviour ---- */

static void test_requests_basic(void **state)
{
	(void)state;
	struct vcpu_requests v;

	vcpu_requests_init(&v);
	assert_false(vcpu_request_pending(&v));
	vcpu_make_request(&v, VCPU_REQ_TLB_FLUSH);
	vcpu_make_request(&v, VCPU_REQ_RELOAD);
	assert_true(vcpu_request_pending(&v));
	assert_true(vcpu_check_request(&v, VCPU_REQ_TLB_FLUSH));
	assert_false(vcpu_check_request(&v, VCPU_REQ_TLB_FLUSH));
	assert_false(vcpu_test_request(&v, VCPU_REQ_STOP));
	/* A pending request refuses the entry and leaves the vCPU outside. */
	assert_false(vcpu_enter_guest_mode(&v, 3, NULL, NULL));
	assert_int_equal(vcpu_mode(&v), OUTSIDE_GUEST_MODE);
	assert_true(vcpu_check_request(&v, VCPU_REQ_RELOAD));
	assert_false(vcpu_request_pending(&v));
	/* Kicking a vCPU outside the guest sends nothing. */
	ipis_sent = 0;
	assert_false(vcpu_kick(&v));
	assert_int_equal(ipis_sent, 0);
	/* In the guest: one IPI, the second kick sees EXITING. */
	assert_true(vcpu_enter_guest_mode(&v, 2, NULL, NULL));
	assert_int_equal(vcpu_mode(&v), IN_GUEST_MODE);
	assert_true(vcpu_kick(&v));
	assert_false(vcpu_kick(&v));
	assert_int_equal(ipis_sent, 1);
	assert_true(take_ipi(2));
	assert_int_equal(vcpu_mode(&v), EXITING_GUEST_MODE);
	vcpu_exit_guest_mode(&v);
	assert_int_equal(vcpu_mode(&v), OUTSIDE_GUEST_MODE);
	assert_int_equal(atomic_read(&v.acks), 1);
	/* STOP is sticky for vcpu_test_request(). */
	vcpu_make_request(&v, VCPU_REQ_STOP);
	assert_true(vcpu_test_request(&v, VCPU_REQ_STOP));
	assert_true(vcpu_test_request(&v, VCPU_REQ_STOP));
	/* Outside the guest, request-and-wait returns at once. */
	vcpu_request_and_wait(&v, VCPU_REQ_PAUSE);
	assert_true(vcpu_test_request(&v, VCPU_REQ_PAUSE));
	assert_int_equal(ipis_sent, 1);
}

static bool work_flag;

static bool work_pending(void *arg)
{
	return *(bool *)arg;
}

static void test_work_pending_cancels_entry(void **state)
{
	(void)state;
	struct vcpu_requests v;

	vcpu_requests_init(&v);
	work_flag = true;
	assert_false(vcpu_enter_guest_mode(&v, 1, work_pending, &work_flag));
	assert_int_equal(vcpu_mode(&v), OUTSIDE_GUEST_MODE);
	assert_int_equal(atomic_read(&v.entries_cancelled), 1);
	work_flag = false;
	assert_true(vcpu_enter_guest_mode(&v, 1, work_pending, &work_flag));
	vcpu_exit_guest_mode(&v);
	assert_int_equal(atomic_read(&v.acks), 0);   /* not kicked: no ack */
}

/* ---- the wait helper against a vCPU parked in the guest ---- */

static struct vcpu_requests parked;
static int parked_in_guest;

static void parked_vcpu(void *arg)
{
	(void)arg;
	unsigned long flags = arch_irq_save();
	assert_true(vcpu_enter_guest_mode(&parked, 1, NULL, NULL));
	__atomic_store_n(&parked_in_guest, 1, __ATOMIC_SEQ_CST);
	/* The guest runs until kicked. */
	while (!take_ipi(1))
		host_yield();
	vcpu_exit_guest_mode(&parked);
	arch_irq_restore(flags);
}

static void test_request_and_wait_sleeps_until_exit(void **state)
{
	(void)state;
	vcpu_requests_init(&parked);
	parked_in_guest = 0;
	ipi_pending[1] = 0;
	struct task *t = host_task_spawn(parked_vcpu, NULL, 1, "vcpu");
	while (!__atomic_load_n(&parked_in_guest, __ATOMIC_SEQ_CST))
		host_yield();
	vcpu_request_and_wait(&parked, VCPU_REQ_PAUSE);
	assert_int_equal(vcpu_mode(&parked), OUTSIDE_GUEST_MODE);
	assert_int_equal(atomic_read(&parked.kicks), 1);
	assert_int_equal(atomic_read(&parked.acks), 1);
	host_task_join(t);
}

int main(void)
{
	host_watchdog(240);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_requests_basic, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_work_pending_cancels_entry, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_request_and_wait_sleeps_until_exit, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_no_request_missed, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_checker_catches_missing_recheck, host_teardown_no_violations),
		cmocka_unit_test_teardown(test_checker_catches_kick_without_cmpxchg, host_teardown_no_violations),
	};
	return cmocka_run_group_tests_name("vcpu_request", tests, NULL, NULL);
}

/*
 * Self-test: a kick gets a running guest out.  `vm run`'s loop publishes
 * guest mode around every entry (include/vigil/virt.h, run->req), so
 * vcpu_request_and_wait() from this task, while the spinning guest runs on
 * another CPU, must send one kick IPI that makes the guest exit (an
 * interrupt exit), and the run must end at its next entry because the STOP
 * request is pending.  Both technologies, through vm_run() alone.  A kick
 * that never arrives is caught by a 20 s deadline instead of a hang.
 */
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/mm.h>
#include <vigil/selftest.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include <vigil/vcpu_request.h>
#include <vigil/virt.h>
#include "virt_internal.h"

#define RUN_DEADLINE_NS 20000000000ULL
#define KICK_ATTEMPTS 5

struct kicked_run {
	unsigned vm, cpu;
	struct vcpu_run run;
	int r;
	char why[WHY_MAX];
};

static uint64_t run_deadline;

static bool past_deadline(void)
{
	return arch_time_ns() > run_deadline;
}

static void runner(void *arg)
{
	struct kicked_run *k = arg;
	k->r = vm_run(k->vm, k->cpu, &k->run, k->why, sizeof(k->why));
}

static int test_vm_run_kick(struct selftest_ctx *ctx)
{
	preempt_disable();
	int cpu = cpu_other_online(smp_processor_id());
	preempt_enable();
	if (cpu < 0)
		return st_skip(ctx, "one CPU online");
	struct kicked_run *k = kzalloc(sizeof(*k));
	ST_ASSERT(ctx, k, "out of memory");
	if (vm_create(&k->vm, k->why, sizeof(k->why)) != 0) {
		int r = st_skip(ctx, "no VM: %s", k->why);
		kfree(k);
		return r;
	}
	struct vcpu_requests *req = vm_requests(k->vm);
	k->cpu = (unsigned)cpu;
	/* One exit first: the guest's code page is mapped from its slot on
	 * the first fetch (a nested page fault), so that the kicked run's
	 * first exit is not that fault, which would take the kick's place. */
	k->run = (struct vcpu_run){ .guest = GUEST_SPIN, .max_exits = 1 };
	if (vm_run(k->vm, k->cpu, &k->run, k->why, sizeof(k->why)) != 0 || k->run.guest_failed) {
		int r = st_fail(ctx, "the first run: %s", k->run.guest_failed ? k->run.why : k->why);
		if (!k->run.guest_failed) {
			char why[WHY_MAX];
			vm_destroy(k->vm, why, sizeof(why));
		}
		kfree(k);
		return r;
	}
	int fail = 0;
	int kicks = 0, acks = 0;
	uint64_t waited = 0;
	/* The guest may leave on its own (a timer interrupt exit) between our
	 * seeing it in guest mode and the request: then no kick is due -- the
	 * request is found at the next entry, as the handshake promises -- and
	 * this attempt proves nothing about kicks.  Try again, a few times. */
	for (unsigned attempt = 0; attempt < KICK_ATTEMPTS; attempt++) {
		int kicks0 = atomic_read(&req->kicks), acks0 = atomic_read(&req->acks);
		k->run = (struct vcpu_run){ .guest = GUEST_SPIN, .max_exits = 10000000, .stop = past_deadline };
		run_deadline = arch_time_ns() + RUN_DEADLINE_NS;
		struct task *t = kthread_run(runner, k, (unsigned)cpu, "st-vm-kick");
		if (!t) {
			fail = st_fail(ctx, "out of memory");
			goto out;
		}
		while (vcpu_mode(req) != IN_GUEST_MODE && !past_deadline())
			yield();
		uint64_t t0 = arch_time_ns();
		vcpu_request_and_wait(req, VCPU_REQ_STOP);
		waited = arch_time_ns() - t0;
		kthread_join(t);
		if (k->r == 0 && k->run.guest_failed) {
			/* vm_run destroyed the VM, and its requests with it. */
			fail = st_fail(ctx, "guest failed: %s", k->run.why);
			kfree(k);
			return fail;
		}
		kicks = atomic_read(&req->kicks) - kicks0;
		acks = atomic_read(&req->acks) - acks0;
		if (k->r != 0 || !k->run.requested || kicks != 0 || acks != 0)
			break;
		st_note(ctx, "attempt %u: the guest was already out when asked; again", attempt + 1);
		vcpu_clear_request(req, VCPU_REQ_STOP);
	}
	st_note(ctx, "cpu=%d exits=%lu intr_exits=%lu kicks=%d acks=%d kick_to_ack_ns=%lu", cpu,
		(unsigned long)k->run.exits, (unsigned long)k->run.exit_count[VEXIT_INTR], kicks, acks,
		(unsigned long)waited);
	if (k->r != 0)
		fail = st_fail(ctx, "vm run: %s", k->why);
	else if (!k->run.requested)
		fail = st_fail(ctx, "the run was not ended by the STOP request (interrupted=%d, %lu exits)",
			       k->run.interrupted, (unsigned long)k->run.exits);
	else if (kicks != 1 || acks != 1)
		fail = st_fail(ctx, "kicks=%d acks=%d, expected one kick IPI acknowledged by one exit",
			       kicks, acks);
	else if (!k->run.exit_count[VEXIT_INTR])
		fail = st_fail(ctx, "the kicked guest made no interrupt exit");
	else if (vcpu_mode(req) != OUTSIDE_GUEST_MODE)
		fail = st_fail(ctx, "vCPU left in guest mode %d", vcpu_mode(req));
out:
	vcpu_clear_request(req, VCPU_REQ_STOP);
	char why[WHY_MAX];
	if (vm_destroy(k->vm, why, sizeof(why)) != 0 && !fail)
		fail = st_fail(ctx, "vm destroy: %s", why);
	kfree(k);
	return fail;
}
SELFTEST(vm_run_kick, test_vm_run_kick);

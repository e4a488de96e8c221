/*
 * Self-test of vCPU kicks on real CPUs (core/virt/vcpu_request.c): a fake
 * vCPU on another CPU enters guest mode and then, standing in for the guest,
 * takes interrupts until the kick IPI arrives; the console task's
 * vcpu_request_and_wait() must send exactly one IPI_VCPU_KICK to that CPU
 * (through the real vector and handler) and sleep until the fake vCPU's exit
 * acknowledges it.  A kick that never arrives ends the fake guest after 5 s
 * and fails the test instead of hanging it.
 */
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/selftest.h>
#include <vigil/task.h>
#include <vigil/vcpu_request.h>

#define GUEST_TIMEOUT_NS 5000000000ULL

struct fake_vcpu {
	struct vcpu_requests req;
	unsigned cpu;
	volatile bool entered, refused, got_ipi;
};

static void fake_vcpu_fn(void *arg)
{
	struct fake_vcpu *fv = arg;
	unsigned long flags = arch_irq_save();

	if (!vcpu_enter_guest_mode(&fv->req, fv->cpu, NULL, NULL)) {
		fv->refused = true;
		arch_irq_restore(flags);
		return;
	}
	uint64_t seen = vcpu_kick_irqs[fv->cpu];
	__atomic_store_n(&fv->entered, true, __ATOMIC_RELEASE);
	/* "The guest": interrupts on, until the kick's interrupt. */
	arch_irq_restore(flags);
	uint64_t deadline = arch_time_ns() + GUEST_TIMEOUT_NS;
	while (vcpu_kick_irqs[fv->cpu] == seen && arch_time_ns() < deadline)
		cpu_relax();
	fv->got_ipi = vcpu_kick_irqs[fv->cpu] != seen;
	flags = arch_irq_save();
	vcpu_exit_guest_mode(&fv->req);
	arch_irq_restore(flags);
}

static int test_vcpu_kick(struct selftest_ctx *ctx)
{
	static struct fake_vcpu fv;
	preempt_disable();
	int cpu = cpu_other_online(smp_processor_id());
	preempt_enable();
	if (cpu < 0)
		return st_skip(ctx, "one CPU online");

	vcpu_requests_init(&fv.req);
	fv.cpu = (unsigned)cpu;
	fv.entered = fv.refused = fv.got_ipi = false;
	struct task *t = kthread_run(fake_vcpu_fn, &fv, cpu, "st-vcpu");
	ST_ASSERT(ctx, t, "out of memory");
	while (!__atomic_load_n(&fv.entered, __ATOMIC_ACQUIRE) && !fv.refused)
		yield();
	if (fv.refused) {
		kthread_join(t);
		return st_fail(ctx, "the entry was refused with no request pending");
	}
	uint64_t t0 = arch_time_ns();
	vcpu_request_and_wait(&fv.req, VCPU_REQ_PAUSE);
	uint64_t waited = arch_time_ns() - t0;
	kthread_join(t);
	st_note(ctx, "cpu=%d kicks=%d acks=%d kick_to_ack_ns=%lu", cpu, atomic_read(&fv.req.kicks),
		atomic_read(&fv.req.acks), (unsigned long)waited);
	ST_ASSERT(ctx, fv.got_ipi, "no kick IPI reached CPU %d in 5 s", cpu);
	ST_ASSERT(ctx, atomic_read(&fv.req.kicks) == 1 && atomic_read(&fv.req.acks) == 1,
		  "kicks=%d acks=%d, expected one IPI acknowledged once", atomic_read(&fv.req.kicks),
		  atomic_read(&fv.req.acks));
	ST_ASSERT(ctx, vcpu_mode(&fv.req) == OUTSIDE_GUEST_MODE, "vCPU left in mode %d", vcpu_mode(&fv.req));
	ST_ASSERT(ctx, vcpu_test_request(&fv.req, VCPU_REQ_PAUSE), "the request vanished");
	return 0;
}
SELFTEST(vcpu_kick, test_vcpu_kick);

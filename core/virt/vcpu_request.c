/*
 * vCPU requests and kicks: the request bitmap and the guest-mode handshake
 * (include/vigil/vcpu_request.h states the protocol; docs/design.md, "vCPU
 * requests and kicks", places it in the vCPU loop; tests/model/vcpu_kick.pml
 * model-checks it).
 *
 * Every access to `requests` and `mode` is a sequentially consistent atomic
 * (a locked instruction on x86), so the two sides' store-then-load sequences
 * are totally ordered: that is the whole correctness argument, spelled out
 * at each function.
 */
#include <vigil/arch.h>
#include <vigil/config.h>
#include <vigil/sched.h>
#include <vigil/smp.h>
#include <vigil/vcpu_request.h>

_Static_assert(VCPU_REQ_NR <= 64, "request bits live in one uint64_t");

volatile uint64_t vcpu_kick_irqs[CONFIG_MAX_CPUS];

/* The kick IPI's handler: the exit it caused was the point. */
void vcpu_kick_ipi(void)
{
	vcpu_kick_irqs[smp_processor_id()]++;
}

static uint64_t req_bit(enum vcpu_request req)
{
	return 1ULL << (unsigned)req;
}

void vcpu_requests_init(struct vcpu_requests *v)
{
	v->requests = 0;
	atomic_set(&v->mode, OUTSIDE_GUEST_MODE);
	v->cpu = -1;
	init_waitqueue_head(&v->wait);
	init_waitqueue_head(&v->ack_wait);
	atomic_set(&v->acks, 0);
	atomic_set(&v->kicks, 0);
	atomic_set(&v->entries_cancelled, 0);
}

/*
 * The request's store half of the Dekker pair.  A locked RMW is a full
 * barrier (SDM vol 3, 10.2.3.8 "Locked instructions have a total order"
 * and 10.2.2: loads are not reordered with locked instructions), so the
 * mode read in vcpu_kick() cannot be satisfied before the bit is visible to
 * the vCPU's re-check.  In C11 terms both are seq_cst operations.
 */
void vcpu_make_request(struct vcpu_requests *v, enum vcpu_request req)
{
	__atomic_fetch_or(&v->requests, req_bit(req), __ATOMIC_SEQ_CST);
}

bool vcpu_request_pending(const struct vcpu_requests *v)
{
	return __atomic_load_n(&v->requests, __ATOMIC_SEQ_CST) != 0;
}

bool vcpu_test_request(const struct vcpu_requests *v, enum vcpu_request req)
{
	return (__atomic_load_n(&v->requests, __ATOMIC_SEQ_CST) & req_bit(req)) != 0;
}

/* Acquire on success, so whatever the requester stored before making the
 * request (the new state to reload, say) is visible to the handler. */
bool vcpu_check_request(struct vcpu_requests *v, enum vcpu_request req)
{
	if (!vcpu_test_request(v, req))
		return false;
	return (__atomic_fetch_and(&v->requests, ~req_bit(req), __ATOMIC_SEQ_CST) & req_bit(req)) != 0;
}

void vcpu_clear_request(struct vcpu_requests *v, enum vcpu_request req)
{
	__atomic_fetch_and(&v->requests, ~req_bit(req), __ATOMIC_SEQ_CST);
}

/*
 * The request's load half.  Only IN_GUEST_MODE gets an IPI, and only from
 * the kicker whose cmpxchg moves it to EXITING_GUEST_MODE: every later
 * kicker of the same entry sees EXITING and sends nothing, and the exit
 * that follows counts one acknowledgement (`acks`) per IPI sent, which is
 * what vcpu_request_and_wait() sleeps on.  OUTSIDE needs no IPI: the vCPU
 * re-checks the requests after its next mode store (see
 * vcpu_enter_guest_mode()).  The cpu read after a successful cmpxchg is the
 * entry's: the vCPU wrote it before its mode store, which the cmpxchg read.
 *
 * The kick IPI's handler does nothing; taking the interrupt is what makes
 * the guest exit (external-interrupt exiting on VMX, the INTR intercept on
 * SVM, both set by the backends).  A kicker running on the vCPU's own CPU
 * cannot find it in the guest (it would not be running), except from an
 * interrupt handler the guest's exit is already taking: no IPI to itself.
 */
bool vcpu_kick(struct vcpu_requests *v)
{
	if (wq_has_sleeper(&v->wait))
		wake_up_all(&v->wait);

	if (atomic_cmpxchg(&v->mode, IN_GUEST_MODE, EXITING_GUEST_MODE) != IN_GUEST_MODE)
		return false;
	atomic_inc(&v->kicks);
	int cpu = READ_ONCE(v->cpu);
	preempt_disable();
	bool self = cpu == (int)smp_processor_id();
	preempt_enable();
	if (!self)
		arch_send_ipi((unsigned)cpu, IPI_VCPU_KICK);
	return true;
}

void vcpu_make_request_and_kick(struct vcpu_requests *v, enum vcpu_request req)
{
	vcpu_make_request(v, req);
	vcpu_kick(v);
}

/*
 * Sleep until the vCPU is outside the guest.  With req set (full barrier),
 * look at the mode:
 *   OUTSIDE  it is outside now, and its next entry's re-check sees req;
 *   IN       move it to EXITING (our kick): its exit bumps `acks`;
 *   EXITING  someone else's kick: its exit bumps `acks` all the same.
 * `acks` is read before the mode, so an exit that ends the entry we saw
 * comes after that read in the total order and moves it.  The sleep is
 * wait_event()'s (queue, full barrier, test acks) against the vCPU's
 * (bump acks, full barrier, look at the queue) in vcpu_exit_guest_mode():
 * no lost wake-up.  A cmpxchg that fails found the mode changed under us:
 * look again.
 */
void vcpu_request_and_wait(struct vcpu_requests *v, enum vcpu_request req)
{
	vcpu_make_request(v, req);
	if (wq_has_sleeper(&v->wait))
		wake_up_all(&v->wait);
	for (;;) {
		int seen = atomic_fetch_add(&v->acks, 0);
		int mode = atomic_fetch_add(&v->mode, 0);

		if (mode == OUTSIDE_GUEST_MODE)
			return;
		if (mode == IN_GUEST_MODE && !vcpu_kick(v))
			continue;
		wait_event(&v->ack_wait, atomic_fetch_add(&v->acks, 0) != seen);
		return;
	}
}

/*
 * The vCPU's store half, then its load half.  Interrupts are off from
 * before this until the guest runs, so a kick IPI sent after the mode store
 * is held pending and taken by the guest (an immediate exit): the entry
 * cannot outrun it.  The xchg is the full barrier (a store followed by
 * plain loads could let the loads pass it: SDM vol 3, 10.2.3.4 "Loads may
 * be reordered with earlier stores to different locations").  Re-checking
 * after it is what makes a request set before the mode store visible here:
 * that request's kicker may have read OUTSIDE and sent nothing.
 */
bool vcpu_enter_guest_mode(struct vcpu_requests *v, unsigned cpu, bool (*work_pending)(void *arg),
			   void *arg)
{
	WRITE_ONCE(v->cpu, (int)cpu);
	atomic_xchg(&v->mode, IN_GUEST_MODE);
	if (vcpu_request_pending(v) || (work_pending && work_pending(arg))) {
		vcpu_exit_guest_mode(v);
		atomic_inc(&v->entries_cancelled);
		return false;
	}
	return true;
}

/*
 * After the guest exits (or a cancelled entry), interrupts still off.  The
 * xchg tells whether the entry was kicked (EXITING): then one IPI was sent
 * for it and its sender, or a vcpu_request_and_wait() caller that found it
 * EXITING, may be waiting for this exit.  The fully ordered increment of
 * `acks` before the look at the queue pairs with prepare_to_wait()'s
 * barrier before the waiter tests `acks`.
 */
void vcpu_exit_guest_mode(struct vcpu_requests *v)
{
	if (atomic_xchg(&v->mode, OUTSIDE_GUEST_MODE) != EXITING_GUEST_MODE)
		return;
	atomic_inc_return(&v->acks);
	if (wq_has_sleeper(&v->ack_wait))
		wake_up_all(&v->ack_wait);
}

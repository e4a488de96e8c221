/*
 * vCPU requests and kicks: how any task asks a vCPU to do something before
 * it next runs guest code, and gets it out of the guest when it is in there
 * (the scheme of KVM's vcpu->requests and kvm_vcpu_kick()).
 *
 * A vCPU task loops: handle its requests, enter the guest, handle the exit.
 * Another task that wants it to stop, pause, flush its TLB or reload state
 * sets a request bit and kicks it.  The kick must reach a vCPU that is in
 * the guest (an IPI to its CPU makes the guest exit) and must not be lost
 * for one that is just about to enter.  The vCPU publishes where it is in
 * `mode`:
 *
 *     OUTSIDE_GUEST_MODE  --vcpu_enter_guest_mode()-->  IN_GUEST_MODE
 *     IN_GUEST_MODE       --vcpu_kick() (cmpxchg)--->   EXITING_GUEST_MODE
 *     IN or EXITING       --vcpu_exit_guest_mode()-->   OUTSIDE_GUEST_MODE
 *
 *     requester                            vCPU (interrupts off)
 *     set bit in requests  (atomic RMW)    mode = IN_GUEST_MODE (xchg)
 *     ---- full barrier ----               ---- full barrier ----
 *     read mode; IN -> EXITING, IPI        read requests; any -> back out
 *
 * Each side stores, then loads what the other stores (the Dekker pattern),
 * with a full barrier between, so at least one of them sees the other:
 * either the vCPU's re-check sees the request and it does not enter, or the
 * requester sees IN_GUEST_MODE and sends the IPI -- which, since the vCPU
 * has interrupts off from before its mode store until the guest runs, is
 * taken in the guest and makes it exit.  A request set before an entry's
 * mode store is therefore never missed by that entry.  The cmpxchg
 * IN -> EXITING makes one kicker of an entry send the IPI; later ones see
 * EXITING and send nothing.
 *
 * Who may sleep where:
 *   - vcpu_make_request(), vcpu_kick(), vcpu_make_request_and_kick(): any
 *     context but NMI (a kick takes wait-queue locks); they never sleep.
 *   - vcpu_enter_guest_mode(), vcpu_exit_guest_mode(): the vCPU task, with
 *     interrupts off, around the guest entry; they never sleep (a waiter's
 *     wake-up is a raw wait-queue lock).
 *   - vcpu_request_and_wait(): task context, preemptible, no spinlock held
 *     (it sleeps on the ack wait queue); never from the vCPU task itself.
 *   - vcpu_wait_event(): the vCPU task, outside guest mode, preemptible
 *     (HLT, pause): it sleeps on `wait`, which a kick wakes.
 *
 * docs/design.md ("vCPU requests and kicks") is the overview; the protocol
 * is model-checked by tests/model/vcpu_kick.pml (docs/models.md).
 */
#ifndef VIGIL_VCPU_REQUEST_H
#define VIGIL_VCPU_REQUEST_H

#include <vigil/atomic.h>
#include <vigil/types.h>
#include <vigil/waitqueue.h>

enum vcpu_mode {
	OUTSIDE_GUEST_MODE = 0,
	IN_GUEST_MODE = 1,
	EXITING_GUEST_MODE = 2,
};

/* Request bits (at most 64).  Add new ones before VCPU_REQ_NR. */
enum vcpu_request {
	VCPU_REQ_STOP,       /* leave the run loop (sticky: test, do not clear) */
	VCPU_REQ_PAUSE,      /* park outside the guest until resumed */
	VCPU_REQ_TLB_FLUSH,  /* flush the guest's TLB before the next entry */
	VCPU_REQ_RELOAD,     /* reload per-CPU/VM state before the next entry */
	VCPU_REQ_SLOTS,      /* an atomic slot update closes the entry gate: come out (vm_gate.h) */
	VCPU_REQ_NR
};

struct vcpu_requests {
	uint64_t requests;          /* bit (1 << enum vcpu_request); atomic RMW only */
	atomic_t mode;              /* enum vcpu_mode */
	int cpu;                    /* CPU of the current entry, -1 before the first */
	/* The vCPU task sleeps here outside the guest (HLT, pause); a kick
	 * wakes it. */
	struct wait_queue_head wait;
	/* vcpu_request_and_wait() callers sleep here until `acks` moves. */
	struct wait_queue_head ack_wait;
	atomic_t acks;              /* exits from EXITING_GUEST_MODE (kicked exits) */
	/* Statistics (`vm stat`): IPIs sent, entries refused by the re-check. */
	atomic_t kicks;
	atomic_t entries_cancelled;
};

void vcpu_requests_init(struct vcpu_requests *v);

/* Set a request bit.  A full barrier follows it (the atomic RMW), so a
 * following read of mode sees any entry whose re-check missed the bit. */
void vcpu_make_request(struct vcpu_requests *v, enum vcpu_request req);
/* Get the vCPU out of the guest: wake it if it sleeps on `wait`, and if it
 * is IN_GUEST_MODE, move it to EXITING_GUEST_MODE and IPI its CPU (once
 * per entry).  Returns true when this call sent the IPI. */
bool vcpu_kick(struct vcpu_requests *v);
/* Both: what a requester normally does. */
void vcpu_make_request_and_kick(struct vcpu_requests *v, enum vcpu_request req);
/* Make a request, kick, and sleep until the vCPU is outside the guest:
 * on return it either was outside when looked at or has since left the
 * entry it was in, and no later entry can run without seeing req (until the
 * vCPU clears it).  Preemptible task context only. */
void vcpu_request_and_wait(struct vcpu_requests *v, enum vcpu_request req);

/* vCPU side, outside guest mode. */
bool vcpu_request_pending(const struct vcpu_requests *v);
bool vcpu_test_request(const struct vcpu_requests *v, enum vcpu_request req);
/* Test and clear: true when req was pending (then act on it now). */
bool vcpu_check_request(struct vcpu_requests *v, enum vcpu_request req);
void vcpu_clear_request(struct vcpu_requests *v, enum vcpu_request req);

/*
 * vCPU side, around the entry, interrupts off.  vcpu_enter_guest_mode()
 * records cpu, sets IN_GUEST_MODE with a full barrier, then re-checks the
 * requests and work_pending(arg) (NULL: none; e.g. need_resched).  true:
 * enter the guest now, then call vcpu_exit_guest_mode() after the exit.
 * false: it is already OUTSIDE_GUEST_MODE again; enable interrupts, handle
 * the requests and go round the loop.
 */
bool vcpu_enter_guest_mode(struct vcpu_requests *v, unsigned cpu, bool (*work_pending)(void *arg),
			   void *arg);
void vcpu_exit_guest_mode(struct vcpu_requests *v);

static inline enum vcpu_mode vcpu_mode(const struct vcpu_requests *v)
{
	return (enum vcpu_mode)atomic_read(&v->mode);
}

/* Kick IPIs taken, per CPU: vcpu_kick_ipi() (include/vigil/smp.h), the
 * handler's only work, counts them for the self-test and statistics. */
extern volatile uint64_t vcpu_kick_irqs[];

/* The vCPU task sleeps outside the guest until a request is pending or
 * cond holds (cond re-evaluated after each wake-up, as wait_event()). */
#define vcpu_wait_event(v, cond) \
	wait_event(&(v)->wait, vcpu_request_pending(v) || (cond))

#endif

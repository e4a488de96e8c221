/*
 * Model 2, "vcpu_kick": vCPU requests and kicks, the OUTSIDE/IN/EXITING
 * guest-mode handshake of core/virt/vcpu_request.c.  docs/models.md explains
 * what it proves and how to run it (tools/run-models.py, `make model`).
 *
 * What it abstracts, by C function (core/virt/vcpu_request.c):
 *
 *   vcpu_make_request            make_request(): the atomic OR into requests
 *   vcpu_kick                    kick(): wake the vCPU if it is queued on its
 *                                wait queue; cmpxchg IN -> EXITING, and if it
 *                                succeeded send the IPI (a separate step)
 *   vcpu_request_and_wait        waiter(): make the request, wake, read acks,
 *                                read the mode, kick if IN, sleep on ack_wait
 *                                until acks moves
 *   vcpu_enter_guest_mode        vcpu(): xchg mode = IN, re-check requests,
 *                                back out (vcpu_exit_guest_mode) if any
 *   vcpu_exit_guest_mode         leave_guest_mode(): xchg mode = OUTSIDE; from
 *                                EXITING, acks++ and wake ack_wait's sleeper
 *   vcpu_check_request,          the vCPU's loop top: STOP is tested (sticky),
 *   vcpu_test_request            the other requests are taken and cleared
 *   vcpu_wait_event              vcpu()'s HLT: sleep on wait until a request
 *   core/sync/waitqueue.c        wait_event()/wake_up_all(): a queued flag and
 *     prepare_to_wait,           a woken flag per queue (one sleeper each);
 *     wq_has_sleeper             queue and test, or wake if queued
 *
 * The vCPU loop itself (the next layer: the vCPU task, which calls these
 * around the backend's guest entry) is vcpu() below: handle requests, maybe
 * block as on HLT, interrupts off, enter, run the guest until the kick IPI
 * (or a spontaneous exit), leave, interrupts on.  The kick IPI is a pending
 * flag on the vCPU's CPU: taken by the guest (an exit) or, once the vCPU
 * has interrupts on again, by the host (it then does nothing).
 *
 * Not modelled: memory ordering beyond sequential consistency (Spin's
 * interleavings are SC; the C code makes every access to requests and mode a
 * seq_cst atomic so that it is SC too, and the broken variants below express
 * the reorderings a missing barrier allows), which CPU the vCPU runs on
 * (its cpu field, migration: the kick's IPI reaches "the vCPU's CPU"), the
 * self-IPI shortcut, the statistics counters, work_pending (it acts like one
 * more request).
 *
 * Bounds: one vCPU; a kicker making KICKS requests (vcpu_make_request +
 * vcpu_kick, default 1), a waiter making WAITS requests with
 * vcpu_request_and_wait (default 1), each waiting for the vCPU to consume
 * its request before making the next; a stopper making one STOP + kick; the
 * guest exits by itself at most SPONT times (default 1) and blocks as on HLT
 * at most HALTS times (default 1).
 *
 * Properties:
 *   request_missed_by_entry  a request pending at an entry's mode store is
 *                            seen by that entry's re-check: the guest never
 *                            runs with it (STOP included: a stopped vCPU
 *                            never re-enters)
 *   kick_missing             (monitor) a request whose maker has returned is
 *                            never pending while the guest runs with no kick
 *                            IPI on the way (pending, or owed by a kicker
 *                            whose cmpxchg succeeded: a later kicker that
 *                            finds EXITING relies on it and returns)
 *   deadlock                 no invalid end state: every requester returns,
 *                            the waiter is woken (no lost wake-up on
 *                            ack_wait), a vCPU blocked as on HLT is woken by
 *                            the next request, the STOP ends the vCPU loop
 *   stopped_outside          the vCPU ends outside guest mode
 *
 * Switches (-D to spin -a): the broken variants that Spin must reject.
 *   BROKEN_NO_RECHECK        vcpu_enter_guest_mode does not re-check the
 *                            requests after its mode store (the same as
 *                            re-checking before it: a missing barrier)
 *   BROKEN_SET_AFTER_MODE    the requester reads the mode before its request
 *                            bit is visible (a missing barrier in
 *                            vcpu_make_request + vcpu_kick)
 *   BROKEN_KICK_NO_CMPXCHG   vcpu_kick sends the IPI when it reads IN without
 *                            moving the vCPU to EXITING
 *   BROKEN_IRQS_ON           the vCPU has interrupts on between its re-check
 *                            and the guest entry, so a kick IPI can be taken
 *                            by the host there and the guest entered anyway
 */

#ifndef KICKS
#define KICKS 1
#endif
#ifndef WAITS
#define WAITS 1
#endif
#ifndef SPONT
#define SPONT 1
#endif
#ifndef HALTS
#define HALTS 1
#endif

#define OUTSIDE 0
#define IN      1
#define EXITING 2

#define REQ_STOP 1           /* VCPU_REQ_STOP */
#define REQ_KICK 2           /* the kicker's request (a TLB flush, say) */
#define REQ_WAIT 4           /* the waiter's request (a pause, say) */

/* ---- the handshake ---- */
byte requests;               /* vcpu_requests.requests */
byte mode = OUTSIDE;         /* vcpu_requests.mode */
byte acks;                   /* vcpu_requests.acks */
bool ipi;                    /* a kick IPI pending on the vCPU's CPU */

/* ---- wait queues: one possible sleeper each ---- */
bool vcpu_queued, vcpu_woken;    /* vcpu_requests.wait (the vCPU on HLT) */
bool ack_queued, ack_woken;      /* vcpu_requests.ack_wait (the waiter) */

/* ---- ghosts (no C counterpart: they state the properties) ---- */
bool in_guest;               /* the guest is running */
byte ipis_owed;              /* kickers that decided to send the IPI, not yet sent */
byte returned;               /* requests whose maker returned, not yet consumed */
bool request_missed_by_entry;
bool kick_missing;
bool stopped;

/* wait_event(q, cond): prepare_to_wait (queue, TASK_BLOCKED, full barrier),
 * test, schedule() until woken; finish_wait. */
inline wait_event(queued, woken, cond)
{
	do
	:: queued = true;
	   if
	   :: cond -> break
	   :: else -> woken; woken = false
	   fi
	od;
	atomic { queued = false; woken = false }
}

/* wq_has_sleeper + wake_up_all: the waker dequeues the sleeper. */
inline wake(queued, woken)
{
	atomic {
		if
		:: queued -> queued = false; woken = true
		:: else -> skip
		fi
	}
}

inline make_request(rq)
{
	requests = requests | rq
}

/* vcpu_kick(): returns in sent whether it moved IN -> EXITING.  Ghost: its
 * last step marks the requests in rq as returned (0: none). */
inline kick(sent, rq)
{
	wake(vcpu_queued, vcpu_woken);
	atomic {
		if
#ifdef BROKEN_KICK_NO_CMPXCHG
		:: mode == IN -> sent = true; ipis_owed++
#else
		:: mode == IN -> mode = EXITING; sent = true; ipis_owed++
#endif
		:: else -> sent = false
		fi
	}
	if
	:: sent -> atomic { ipi = true; ipis_owed--; returned = returned | rq }
	:: else -> returned = returned | rq
	fi
}

inline leave_guest_mode(old)
{
	atomic { old = mode; mode = OUTSIDE };
	if
	:: old == EXITING ->
		acks++;
		wake(ack_queued, ack_woken)
	:: else -> skip
	fi
}

proctype vcpu()
{
	byte old;
	byte spont = SPONT, halts = HALTS;
	do
	:: /* handle requests (interrupts on: a late kick IPI is taken; its
	    * handler does nothing); STOP is tested, not cleared */
	   atomic {
		ipi = false;
		if
		:: requests & REQ_STOP -> break
		:: else -> skip
		fi
	   };
	   /* vcpu_check_request for each: test and clear */
	   atomic {
		if :: requests & REQ_KICK -> requests = requests & ~REQ_KICK; returned = returned & ~REQ_KICK :: else fi;
		if :: requests & REQ_WAIT -> requests = requests & ~REQ_WAIT; returned = returned & ~REQ_WAIT :: else fi
	   };
	   if
	   :: halts > 0 ->      /* HLT: block until a request */
		halts--;
		wait_event(vcpu_queued, vcpu_woken, requests != 0)
	   :: true ->
		/* interrupts off; vcpu_enter_guest_mode() */
		atomic {
			mode = IN;
			request_missed_by_entry = (requests != 0)   /* pending at the mode store */
		};
#ifndef BROKEN_NO_RECHECK
		if
		:: requests != 0 ->
			request_missed_by_entry = false;
			leave_guest_mode(old);
			goto cancelled
		:: else -> skip
		fi;
#endif
#ifdef BROKEN_IRQS_ON
		ipi = false;    /* taken by the host before the entry */
#endif
		/* the guest runs */
		atomic { assert(!request_missed_by_entry); in_guest = true };
		if
		:: atomic { ipi -> ipi = false; in_guest = false }        /* kicked out */
		:: atomic { spont > 0 -> spont--; in_guest = false }    /* an exit of its own */
		fi;
		leave_guest_mode(old);
cancelled:	skip
	   fi
	od;
	stopped = true;
	assert(mode == OUTSIDE)
}

/* vcpu_make_request + vcpu_kick, KICKS times. */
proctype kicker()
{
	byte n = KICKS;
	bool sent;
	do
	:: n > 0 ->
		n--;
#ifdef BROKEN_SET_AFTER_MODE
		returned = returned & ~REQ_KICK;   /* a new instance */
		kick(sent, 0);
		atomic { make_request(REQ_KICK); returned = returned | REQ_KICK };
#else
		atomic { returned = returned & ~REQ_KICK; make_request(REQ_KICK) };
		kick(sent, REQ_KICK);
#endif
		/* consumed (or the vCPU stopped): make the next one */
		(requests & REQ_KICK) == 0 || stopped
	:: else -> break
	od
}

/* vcpu_request_and_wait, WAITS times. */
proctype waiter()
{
	byte n = WAITS, seen, m;
	bool sent;
	do
	:: n > 0 ->
		n--;
		atomic { returned = returned & ~REQ_WAIT; make_request(REQ_WAIT) };
		wake(vcpu_queued, vcpu_woken);
		do
		:: seen = acks;
		   m = mode;
		   if
		   :: m == OUTSIDE -> break
		   :: m == IN ->
			kick(sent, 0);
			if
			:: !sent -> goto again
			:: else -> skip
			fi
		   :: m == EXITING -> skip
		   fi;
		   wait_event(ack_queued, ack_woken, acks != seen);
		   break;
again:		   skip
		od;
		returned = returned | REQ_WAIT;
		(requests & REQ_WAIT) == 0 || stopped
	:: else -> break
	od
}

proctype stopper()
{
	bool sent;
	make_request(REQ_STOP);
	kick(sent, REQ_STOP)
}

/* kick_missing: the guest runs, a request whose maker returned is pending,
 * and no kick IPI is on its way to make the guest exit (none pending, and no
 * kicker between its cmpxchg and its IPI). */
proctype monitor()
{
end:	atomic {
		(in_guest && !ipi && ipis_owed == 0 && (requests & returned) != 0) ->
			kick_missing = true; assert(!kick_missing)
	}
}

init
{
	atomic {
		run monitor();
		run vcpu();
		run kicker();
		run waiter();
		run stopper()
	}
}

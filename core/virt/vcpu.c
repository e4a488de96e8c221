/*
 * The vCPU task: a kernel thread per vCPU that enters its guest again and
 * again until told to stop (include/vigil/vcpu.h has the loop in outline,
 * docs/design.md "Live VMs" the life cycle).
 *
 * Where it may sleep: only at the top of its loop (the freezer, a pause, a
 * CPU it must leave, a refused entry) and after a HLT exit, each time with
 * preemption on, interrupts on, outside guest mode and holding no lock.
 * Between vcpu_load and the end of the exit's handling preemption is off, so
 * the task stays on the CPU whose state the backend loaded; interrupts are
 * off from just before guest mode is published until the guest has exited,
 * so a kick IPI sent after the mode store is taken in the guest (an exit),
 * never lost between the re-check and the entry (include/vigil/vcpu_request.h).
 */
#include <vigil/arch.h>
#include <vigil/atomic.h>
#include <vigil/cpu.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/string.h>
#include <vigil/suspend.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>
#include <vigil/vm_gate.h>
#include "virt_internal.h"

/* A HLT sleeps at most this long: the guest's timer is the host's tick. */
#define VCPU_HALT_NS 1000000ULL
/* No CPU will take the vCPU (all closed or off): look again after this. */
#define VCPU_NOWHERE_NS 2000000ULL

/* Statistics are read by `vm stat` and `check` while the task counts. */
static void stat_inc(uint64_t *p)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Anything that must keep the vCPU out of the guest once it published guest
 * mode (the re-check of vcpu_enter_guest_mode(), after its full barrier):
 * a freeze, a reboot's latch, the CPU closing under it, the scheduler
 * wanting the CPU.  Each writer stores its flag and then kicks (a full
 * barrier in between), the Dekker pair of the request bits. */
static bool vcpu_work_pending(void *arg)
{
	struct vcpu *v = arg;
	unsigned cpu = (unsigned)v->where;
	return freezing() || vcpu_entries_refused() || !vcpu_cpu_usable(cpu) || need_resched();
}

/* The first CPU after `from` (spread by the vCPU's index) that takes guests. */
static int pick_cpu(const struct vcpu *v, unsigned from)
{
	unsigned n = nr_possible_cpus;
	for (unsigned i = 1; i <= n; i++) {
		unsigned c = (from + i + v->index) % n;
		if (c != from && vcpu_cpu_usable(c))
			return (int)c;
	}
	return -1;
}

/* The loop found it may not enter on this CPU: go where it may.  A pinned
 * vCPU whose CPU takes no guests (the boot CPU while degraded) waits.  The
 * task stays bound where it went: an idle CPU that is closing (its queue
 * still open until the scheduler's own step) would otherwise steal it back,
 * again and again.  A CPU opening sets it free (vcpu_hotplug.c). */
static void move_away(struct vcpu *v, unsigned from)
{
	int pin = READ_ONCE(v->pin);
	int to = pin >= 0 ? (vcpu_cpu_usable((unsigned)pin) ? pin : -1) : pick_cpu(v, from);
	if (to < 0 || (unsigned)to == from) {
		sleep_ns(VCPU_NOWHERE_NS);
		return;
	}
	stat_inc(&v->moves);
	sched_migrate(current_task(), (unsigned)to);
}

/* Apply v->pin to the task (a `vcpu pin`, or a pin dropped by a CPU going
 * offline): bind it there, or set it free. */
static void apply_pin(struct vcpu *v)
{
	int pin = READ_ONCE(v->pin);
	if (pin < 0)
		sched_bind_current(TASK_ANY_CPU);
	else if (sched_migrate(current_task(), (unsigned)pin) != 0)
		sched_bind_current(TASK_ANY_CPU); /* went offline meanwhile: its teardown drops the pin */
}

/* The vCPU sleeps outside the guest until cond or a kick; requests and the
 * freezer end the wait so that the loop can act on them. */
#define vcpu_park(v, cond)                                                                    \
	do {                                                                                  \
		WRITE_ONCE((v)->outside, true);                                               \
		__atomic_store_n(&(v)->where, -1, __ATOMIC_SEQ_CST); /* on no CPU until it runs again */ \
		wait_event(&(v)->req.wait, vcpu_test_request(&(v)->req, VCPU_REQ_STOP) || freezing() || \
			   (cond));                                                           \
		WRITE_ONCE((v)->outside, false);                                              \
	} while (0)

/* HLT: sleep until the next timer tick or a kick (vcpu_kick() wakes the
 * task whatever it sleeps on: a wake-up that comes before the sleep starts
 * is caught by the tick that ends it). */
static void halt(struct vcpu *v)
{
	stat_inc(&v->halts);
	struct wait_queue_entry e;
	init_wait_entry(&e);
	prepare_to_wait(&v->req.wait, &e);
	bool sleep = !vcpu_request_pending(&v->req) && !freezing() && !vcpu_entries_refused();
	__set_current_state(TASK_RUNNING);
	/* Not `outside`: a halted vCPU enters again after its sleep, on this
	 * CPU unless its loop finds it closed, so a CPU going offline waits
	 * for it to come round (the kick ends the sleep). */
	if (sleep)
		sleep_ns(VCPU_HALT_NS);
	finish_wait(&v->req.wait, &e);
}

static void fail(struct vcpu *v, const char *what, const char *why)
{
	snprintf(v->error, sizeof(v->error), "%s: %s", what, why);
	printk("%s: stopped: %s\n", v->name, v->error);
	__atomic_store_n(&v->state, VCPU_FAILED, __ATOMIC_SEQ_CST);
}

/* Requests, at the top of the loop.  STOP is sticky (its maker clears it
 * after the join); PAUSE only brings the vCPU out, v->state says whether to
 * stay out; RELOAD re-reads the pin; TLB_FLUSH is counted and has done its
 * work by bringing the vCPU out: the backend compares the VM's flush
 * generation (bumped by every zap) at each entry and flushes then, as it
 * does on every CPU change. */
static void handle_requests(struct vcpu *v)
{
	vcpu_check_request(&v->req, VCPU_REQ_PAUSE);
	if (vcpu_check_request(&v->req, VCPU_REQ_RELOAD))
		stat_inc(&v->reloads);
	if (vcpu_check_request(&v->req, VCPU_REQ_TLB_FLUSH))
		stat_inc(&v->flushes);
	/* SLOTS only brought it out; the gate itself says whether to wait. */
	vcpu_check_request(&v->req, VCPU_REQ_SLOTS);
	if (__atomic_exchange_n(&v->rebind, 0, __ATOMIC_SEQ_CST))
		apply_pin(v);
}

/* An atomic slot update closed the VM's entry gate: sleep outside the guest,
 * holding nothing, parked like a paused vCPU (a CPU going offline does not
 * wait for it, the freezer and a stop wake it), until the update opens the
 * gate again (it wakes every vCPU of the VM). */
static void blocked_at_gate(struct vcpu *v, struct vm_gate *gate)
{
	uint64_t t0 = arch_time_ns();
	vcpu_park(v, !vm_gate_is_closed(gate) || vcpu_request_pending(&v->req));
	vm_gate_count_blocked(gate, arch_time_ns() - t0);
}

/* One entry and the handling of its exit.  Returns false when the vCPU
 * stops (failed). */
static bool run_once(struct vcpu *v, const struct virt_ops *ops, int *prev_cpu)
{
	char why[WHY_MAX];
	preempt_disable();
	unsigned cpu = smp_processor_id();
	/* Stored before the look at the CPU's closed flag, which a CPU going
	 * offline stores before looking at where: one of the two sees the
	 * other (vcpu_hotplug.c). */
	__atomic_store_n(&v->where, (int)cpu, __ATOMIC_SEQ_CST);
	if (!vcpu_cpu_usable(cpu)) {
		/* On its way elsewhere: on no CPU until its next pass (it may be
		 * preempted and pushed off a dying CPU right here). */
		__atomic_store_n(&v->where, -1, __ATOMIC_SEQ_CST);
		preempt_enable();
		move_away(v, cpu);
		return true;
	}
	/* The in-entry indicator, from here (preemption off, before the
	 * request re-check) to after the exit's handling: an atomic slot
	 * update waits for it, and never finds it set on a vCPU that sleeps
	 * (vigil/vm_gate.h). */
	struct vm_gate *gate = v->vm->gate;
	if (!vm_gate_enter(gate)) {
		__atomic_store_n(&v->where, -1, __ATOMIC_SEQ_CST);
		preempt_enable();
		blocked_at_gate(v, gate);
		return true;
	}
	if (ops->vcpu_load(v, cpu, why, sizeof(why)) != 0) {
		vm_gate_leave(gate);
		preempt_enable();
		fail(v, "vcpu_load", why);
		return false;
	}
	unsigned long flags = arch_irq_save();
	if (!vcpu_enter_guest_mode(&v->req, cpu, vcpu_work_pending, v)) {
		arch_irq_restore(flags);
		vm_gate_leave(gate);
		preempt_enable();
		return true;
	}
	bool ran = ops->vcpu_enter(v);
	vcpu_exit_guest_mode(&v->req);
	arch_irq_restore(flags);  /* the interrupt that made the guest exit is taken here */
	if (!ran) {
		/* Virtualization went off here between the load and the entry:
		 * the next pass finds out why (closed CPU, reboot). */
		__atomic_store_n(&v->where, -1, __ATOMIC_SEQ_CST);
		vm_gate_leave(gate);
		preempt_enable();
		return true;
	}
	stat_inc(&v->entries);
	if (*prev_cpu >= 0 && *prev_cpu != (int)cpu)
		stat_inc(&v->migrations);
	*prev_cpu = (int)cpu;
	WRITE_ONCE(v->last_cpu, (int)cpu);
	enum vcpu_exit_action a = ops->vcpu_handle_exit(v);
	vm_gate_leave(gate);  /* the exit's slot lookups are done */
	preempt_enable();
	switch (a) {
	case VCPU_EXIT_CONTINUE:
		return true;
	case VCPU_EXIT_HALT:
		halt(v);
		return true;
	case VCPU_EXIT_GUEST_FAILED:
		fail(v, "guest", v->run.why);
		return false;
	case VCPU_EXIT_HOST_FAILED:
	default:
		fail(v, "host", v->run.why);
		return false;
	}
}

static void vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	const struct virt_ops *ops = virt_ops_current();
	int prev_cpu = -1;
	set_freezable();
	for (;;) {
		if (freezing()) {
			WRITE_ONCE(v->frozen, true);
			__atomic_store_n(&v->where, -1, __ATOMIC_SEQ_CST);
			try_to_freeze();
			WRITE_ONCE(v->frozen, false);
		}
		if (vcpu_test_request(&v->req, VCPU_REQ_STOP))
			break;
		handle_requests(v);
		if (vcpu_entries_refused()) {
			vcpu_park(v, false);
			continue;
		}
		if (READ_ONCE(v->state) == VCPU_PAUSED) {
			vcpu_park(v, READ_ONCE(v->state) != VCPU_PAUSED || READ_ONCE(v->rebind) ||
				     vcpu_entries_refused());
			continue;
		}
		if (!run_once(v, ops, &prev_cpu))
			break;
	}
	freezer_exit();
}

int vcpu_task_start(struct vcpu *v, char *why, size_t len)
{
	vcpu_clear_request(&v->req, VCPU_REQ_STOP);
	v->error[0] = 0;
	__atomic_store_n(&v->state, VCPU_RUNNING, __ATOMIC_SEQ_CST);
	int pin = READ_ONCE(v->pin);
	if (pin >= 0 && !vcpu_cpu_usable((unsigned)pin))
		pin = TASK_ANY_CPU;  /* its loop moves it once the CPU is back */
	struct task *t = kthread_run(vcpu_main, v, pin, v->name);
	if (!t) {
		__atomic_store_n(&v->state, VCPU_STOPPED, __ATOMIC_SEQ_CST);
		return why_fail(why, len, WHY_NOMEM, "out of memory for the task of %s", v->name);
	}
	WRITE_ONCE(v->task, t);
	return 0;
}

void vcpu_task_stop(struct vcpu *v)
{
	if (!v->task)
		return;
	vcpu_make_request_and_kick(&v->req, VCPU_REQ_STOP);
	kthread_join(v->task);
	WRITE_ONCE(v->task, NULL);
	vcpu_clear_request(&v->req, VCPU_REQ_STOP);
	if (READ_ONCE(v->state) != VCPU_FAILED)
		__atomic_store_n(&v->state, VCPU_STOPPED, __ATOMIC_SEQ_CST);
}

const char *vcpu_state_name(int state)
{
	switch (state) {
	case VCPU_STOPPED: return "stopped";
	case VCPU_RUNNING: return "running";
	case VCPU_PAUSED: return "paused";
	case VCPU_FAILED: return "failed";
	default: return "?";
	}
}

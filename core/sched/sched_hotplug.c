/*
 * The scheduler's side of CPU hotplug (include/vigil/cpuhp.h): a CPU going
 * offline closes its run queue ("dying"), pushes its tasks to other CPUs and,
 * once nothing is left, its idle task parks it; a CPU coming (back) online
 * opens its queue and starts in its idle task.
 */
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/inject.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/task.h>

#include "sched_internal.h"

/* Where a task goes when its CPU is going offline: the next online CPU that
 * is not going away too (the boot CPU never does). */
static unsigned fallback_cpu(unsigned from)
{
	unsigned n = nr_possible_cpus;
	for (unsigned i = 1; i <= n; i++) {
		unsigned c = (from + i) % n;
		if (cpu_is_online(c) && !__atomic_load_n(&rqs[c].dying, __ATOMIC_ACQUIRE))
			return c;
	}
	return 0;
}

/* A task bound to a CPU that is going offline is moved for good (Linux
 * breaks the affinity the same way); counted for `cpus`-side reports. */
static unsigned long affinity_broken;

bool stays_while_dying(const struct task *t, unsigned cpu)
{
	return t->percpu_thread && t->bound_cpu == (int)cpu;
}

unsigned leave_target(struct task *t, unsigned from)
{
	if (t->bound_cpu >= 0 && (unsigned)t->bound_cpu != from)
		return (unsigned)t->bound_cpu;
	unsigned to = fallback_cpu(from);
	if (t->bound_cpu >= 0) {
		t->bound_cpu = (int)to;
		affinity_broken++;
	}
	return to;
}

/* The idle task of a CPU going offline, interrupts off: once nothing is
 * queued (every enqueue onto a dying run queue is redirected, under its
 * lock), run the STARTING teardowns and park the CPU. */
INJECT_POINT(cpu_wont_die,
	     "the CPU being taken offline keeps idling instead of stopping (count=0: until cleared)");

void idle_die(void)
{
	unsigned cpu = smp_processor_id();
	/* Checked again at every pass of the idle loop (each tick). */
	if (inject_hit(&inject_cpu_wont_die, cpu))
		return;
	struct runqueue *rq = &rqs[cpu];
	__raw_spin_lock(&rq->lock);
	bool empty = rq->nr == 0 && !rq->migrate_out;
	__raw_spin_unlock(&rq->lock);
	if (!empty)
		return;
	cpuhp_ap_dying(cpu);
	arch_cpu_park();
}
__noreturn void sched_start_ap(unsigned cpu)
{
	struct task *idle = rqs[cpu].idle;
	if (!idle) {
		idle = kzalloc(sizeof(*idle));
		if (!idle)
			panic("sched: no memory for idle/%u", cpu);
		char name[TASK_NAME_LEN];
		snprintf(name, sizeof(name), "idle/%u", cpu);
		make_static_task(idle, name, cpu, true);
	}
	/* Back online after being parked: the idle task starts afresh on
	 * the boot stack (its old context died with the CPU). */
	idle->preempt_count = 0;
	idle->need_resched = false;
	arch_set_current(idle);
	idle->on_cpu = true;
	rqs[cpu].idle = idle;
	rqs[cpu].curr = idle;
	idle_loop();
}
/* ---- CPU hotplug (include/vigil/cpuhp.h) ---- */

/* Open or close cpu's run queue to new work; closing also asks whatever
 * runs there to reschedule (when kick). */
static void set_rq_dying(unsigned cpu, bool dying, bool kick)
{
	unsigned long flags = arch_irq_save();
	__raw_spin_lock(&rqs[cpu].lock);
	__atomic_store_n(&rqs[cpu].dying, dying, __ATOMIC_RELEASE);
	struct task *curr = rqs[cpu].curr;
	if (kick && curr)
		curr->need_resched = true;
	__raw_spin_unlock(&rqs[cpu].lock);
	arch_irq_restore(flags);
}

void sched_cpu_activate(unsigned cpu)
{
	set_rq_dying(cpu, false, false);
}

void sched_cpu_start_failed(unsigned cpu)
{
	set_rq_dying(cpu, true, false); /* nothing runs there to kick */
}

void sched_cpu_deactivate(unsigned cpu)
{
	set_rq_dying(cpu, true, true);
	/* Whatever runs there reschedules: it and everything queued leave. */
	arch_send_ipi(cpu, IPI_RESCHEDULE);
}

unsigned long sched_affinity_broken(void)
{
	return affinity_broken;
}


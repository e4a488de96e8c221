/*
 * The scheduler's run queues and switching: per-CPU run queues of kernel
 * threads, round-robin with a time slice, timer-driven preemption, wake-ups,
 * migration, and an idle task per CPU.  The other pieces of the scheduler
 * are listed in sched_internal.h.
 *
 * Locking: each run queue has a raw spinlock taken with interrupts off.
 * schedule() holds the local run-queue lock across the context switch and the
 * task switched to releases it (finish_switch), so a waker that takes the
 * same lock sees a task either still current or fully switched out, never
 * half-way: that is what makes the set_current_state()/schedule() pattern of
 * include/vigil/sched.h lose no wake-ups.  Two run-queue locks are only ever
 * held together in CPU-number order (migration, stealing).
 */
#include <vigil/arch.h>
#include <vigil/config.h>
#include <vigil/cpu.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/task.h>

#include "sched_internal.h"
#include "task_stack.h"

#define SLICE_NS 10000000ULL   /* 10 ms */

/* The run queue's idea of what runs must be what runs: checked where a CPU
 * starts a switch and before it idles, so a mix-up is caught where it
 * happens, not when something hangs a minute later. */
static void check_rq_curr(struct runqueue *rq, struct task *running, const char *where)
{
	static int reported;
	if (rq->curr == running || __atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		return;
	printk("BUG: sched: %s on cpu %u: rq->curr is '%s'/%u (set by '%s'/%u) but '%s'/%u runs\n", where,
	       smp_processor_id(), rq->curr ? rq->curr->name : "-", rq->curr ? rq->curr->id : 0,
	       rq->curr_set_by ? rq->curr_set_by->name : "-", rq->curr_set_by ? rq->curr_set_by->id : 0,
	       running->name, running->id);
	arch_dump_stack();
}

struct runqueue rqs[CONFIG_MAX_CPUS];

static void __schedule(bool preempt);

static struct task boot_main_task;
bool sched_running;

static void rq_enqueue(struct runqueue *rq, struct task *t)
{
	/* Atomic: two CPUs queueing one task on two run queues (each under its
	 * own lock) must not both see it unqueued. */
	if (__atomic_exchange_n(&t->on_rq, true, __ATOMIC_ACQ_REL)) {
		printk("BUG: sched: task '%s'/%u queued twice (cpu %u; first from %p on cpu %u)\n", t->name, t->id,
		       t->cpu, t->enqueued_from, t->enqueued_on_cpu);
		arch_dump_stack();
		return;
	}
	t->rq_next = NULL;
	t->enqueued_from = __builtin_return_address(0);
	t->enqueued_on_cpu = smp_processor_id();
	if (rq->tail)
		rq->tail->rq_next = t;
	else
		rq->head = t;
	rq->tail = t;
	rq->nr++;
	t->on_rq = true;
}

static struct task *rq_dequeue(struct runqueue *rq)
{
	struct task *t = rq->head;
	if (!t)
		return NULL;
	rq->head = t->rq_next;
	if (!rq->head)
		rq->tail = NULL;
	rq->nr--;
	t->on_rq = false;
	t->rq_next = NULL;
	return t;
}

static bool rq_remove(struct runqueue *rq, struct task *t)
{
	struct task **pp = &rq->head, *prev = NULL;
	while (*pp && *pp != t) {
		prev = *pp;
		pp = &(*pp)->rq_next;
	}
	if (!*pp)
		return false;
	*pp = t->rq_next;
	if (rq->tail == t)
		rq->tail = prev;
	rq->nr--;
	t->on_rq = false;
	t->rq_next = NULL;
	return true;
}

struct task *current_task(void)
{
	return arch_get_current();
}

const char *task_name(const struct task *t)
{
	return t->name;
}

unsigned task_id(const struct task *t)
{
	return t->id;
}

void __set_current_state(enum task_state s)
{
	current_task()->state = s;
}

void set_current_state(enum task_state s)
{
	current_task()->state = s;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

struct lockdep_task *lockdep_current(void)
{
	/* Interrupt handlers use the interrupted task's held-lock stack, as in
	 * Linux: a lock taken in an interrupt nests inside whatever the task
	 * held.  Before the scheduler exists there is no task: a boot stack. */
	static struct lockdep_task early;
	struct task *t = current_task();
	return t ? &t->lockdep : &early;
}

/* ---- preemption ---- */

void preempt_disable(void)
{
	struct task *t = current_task();
	t->preempt_count++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void preempt_enable(void)
{
	struct task *t = current_task();
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (t->preempt_count == 0)
		panic("preempt_enable: preempt_count underflow in task '%s'", t->name);
	if (--t->preempt_count == 0 && t->need_resched && !arch_in_interrupt() && arch_irqs_enabled())
		__schedule(true);
}

unsigned preempt_count(void)
{
	struct task *t = current_task();
	return t ? t->preempt_count : 0;
}

bool in_interrupt(void)
{
	return arch_in_interrupt();
}

bool in_atomic(void)
{
	return preempt_count() > 0 || arch_in_interrupt() || !arch_irqs_enabled();
}

/* ---- switching ---- */

static void lock_task_rq(struct task *t, unsigned *cpu_out)
{
	for (;;) {
		unsigned cpu = __atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE);
		__raw_spin_lock(&rqs[cpu].lock);
		if (t->cpu == cpu) {
			*cpu_out = cpu;
			return;
		}
		__raw_spin_unlock(&rqs[cpu].lock);
	}
}

/* Queue a runnable task that is neither running nor queued on its CPU and
 * kick that CPU.  Called with interrupts off and no run-queue lock held.  A
 * CPU going offline takes nothing: the task goes to another one. */
void enqueue_remote(struct task *t, unsigned cpu)
{
	__raw_spin_lock(&rqs[cpu].lock);
	while (rqs[cpu].dying && !stays_while_dying(t, cpu)) {
		__raw_spin_unlock(&rqs[cpu].lock);
		cpu = leave_target(t, cpu);
		__raw_spin_lock(&rqs[cpu].lock);
	}
	t->cpu = cpu;
	rq_enqueue(&rqs[cpu], t);
	/* After on_rq is set: a waker that sees migrating clear sees on_rq. */
	__atomic_store_n(&t->migrating, false, __ATOMIC_RELEASE);
	struct task *curr = rqs[cpu].curr;
	__raw_spin_unlock(&rqs[cpu].lock);
	if (cpu != smp_processor_id())
		arch_send_ipi(cpu, IPI_RESCHEDULE);
	else if (curr)
		curr->need_resched = true;
}

/* Second half of a switch, run by the task switched to, on its own stack,
 * with interrupts off and the local run-queue lock held by schedule(). */
void finish_switch(void)
{
	struct runqueue *rq = &rqs[smp_processor_id()];
	struct task *prev = rq->last, *mig = rq->migrate_out;
	rq->last = NULL;
	rq->migrate_out = NULL;
	if (prev)
		__atomic_store_n(&prev->on_cpu, false, __ATOMIC_RELEASE);
	__raw_spin_unlock(&rq->lock);
	while (mig) {
		struct task *next_mig = mig->rq_next;
		mig->rq_next = NULL;
		enqueue_remote(mig, leave_target(mig, smp_processor_id()));
		mig = next_mig;
	}
	if (prev && prev->state == TASK_DEAD) {
		/* Only now is nobody on prev's stack: the joiner may free it. */
		__atomic_store_n(&prev->exited, true, __ATOMIC_SEQ_CST);
		struct task *j = __atomic_load_n(&prev->joiner, __ATOMIC_SEQ_CST);
		if (j)
			wake_up_task(j);
	}
}

static struct task *steal_task(unsigned this_cpu)
{
	if (rqs[this_cpu].dying)
		return NULL;
	/* An idle CPU takes a free (unbound) task from another queue.  Our lock
	 * is held; the other is taken only with trylock, so two CPUs stealing
	 * from each other cannot deadlock. */
	unsigned n = nr_possible_cpus;
	for (unsigned i = 1; i < n; i++) {
		unsigned c = (this_cpu + i) % n;
		struct runqueue *other = &rqs[c];
		if (!__atomic_load_n(&other->nr, __ATOMIC_RELAXED) || !cpu_is_online(c))
			continue;
		if (!__raw_spin_trylock(&other->lock))
			continue;
		struct task *found = NULL;
		for (struct task *t = other->head; t; t = t->rq_next) {
			if (t->bound_cpu == TASK_ANY_CPU && !t->is_idle) {
				found = t;
				break;
			}
		}
		if (found) {
			rq_remove(other, found);
			found->cpu = this_cpu;
			found->migrations++;
		}
		__raw_spin_unlock(&other->lock);
		if (found)
			return found;
	}
	return NULL;
}

/*
 * preempt: the task is being preempted, not going to sleep.  A preempted
 * task stays runnable whatever its state says: it may have been caught
 * between set_current_state(TASK_BLOCKED) and its own schedule(), and if its
 * wake-up already happened, treating it as asleep would lose it for good
 * (Linux's __schedule(SM_PREEMPT) rule).  It will reach its own schedule()
 * when it runs again and sleep then, unless woken meanwhile.
 */
static void __schedule(bool preempt)
{
	struct task *prev = current_task();
	if (!sched_running || !prev)
		return;
	if (arch_in_interrupt())
		panic("schedule() called from interrupt context");
	if (prev->preempt_count && !prev->is_idle) {
		printk("BUG: scheduling while atomic: task '%s' preempt_count %u state %d preempt %d\n", prev->name,
		       prev->preempt_count, prev->state, preempt);
		arch_dump_stack();
	}

	unsigned long flags = arch_irq_save();
	unsigned cpu = smp_processor_id();
	struct runqueue *rq = &rqs[cpu];
	__raw_spin_lock(&rq->lock);
	check_rq_curr(rq, prev, "schedule");
	task_stack_check_bottom(prev);
	prev->need_resched = false;

	bool runnable = (prev->state == TASK_RUNNING || (preempt && prev->state == TASK_BLOCKED)) &&
			!prev->is_idle;
	bool leaves = runnable && ((rq->dying && !stays_while_dying(prev, cpu)) ||
				   (prev->bound_cpu >= 0 && (unsigned)prev->bound_cpu != cpu));
	if (runnable && !leaves && !prev->on_rq)
		rq_enqueue(rq, prev);

	struct task *chain = NULL;
	if (rq->dying) {
		/* Going offline: everything queued here leaves with prev (pushed
		 * by finish_switch, when no run-queue lock is held). */
		struct task *t, *keep = NULL;
		while ((t = rq_dequeue(rq))) {
			if (stays_while_dying(t, cpu)) {
				t->rq_next = keep;
				keep = t;
				continue;
			}
			t->migrating = true;
			t->rq_next = chain;
			chain = t;
		}
		while (keep) {
			t = keep;
			keep = keep->rq_next;
			rq_enqueue(rq, t);
		}
	}

	struct task *next = rq_dequeue(rq);
	if (!next)
		next = steal_task(cpu);
	if (!next)
		next = prev->is_idle ? prev : rq->idle;

	if (next == prev && !chain) {
		prev->slice_start_ns = arch_time_ns();
		__raw_spin_unlock(&rq->lock);
		arch_irq_restore(flags);
		return;
	}
	if (leaves) {
		prev->migrating = true;
		prev->rq_next = chain;
		chain = prev;
	}
	rq->migrate_out = chain;
	if (next == prev) {
		/* Only the idle task stays (a dying CPU pushed the rest away):
		 * push them now, no switch needed. */
		rq->last = NULL;
		finish_switch();
		arch_irq_restore(flags);
		return;
	}
	if (__atomic_exchange_n(&next->on_cpu, true, __ATOMIC_ACQ_REL)) {
		printk("BUG: sched: cpu %u picked '%s'/%u which is still on a CPU (cpu=%u on_rq=%d migrating=%d "
		       "enqueued from %p on cpu %u)\n", cpu, next->name, next->id, next->cpu, next->on_rq,
		       next->migrating, next->enqueued_from, next->enqueued_on_cpu);
		arch_dump_stack();
		sched_dump();
	}
	rq->curr = next;
	rq->curr_set_by = prev;
	rq->last = prev;
	rq->switches++;
	next->switches++;
	next->cpu = cpu;
	next->slice_start_ns = arch_time_ns();
	arch_set_current(next);
	arch_switch_to(&prev->arch_sp, next->arch_sp);
	/* Back in prev, on its own stack, possibly on another CPU. */
	finish_switch();
	arch_irq_restore(flags);
}

void schedule(void)
{
	__schedule(false);
}

void wake_up_task(struct task *t)
{
	unsigned long flags = arch_irq_save();
	unsigned cpu;
	lock_task_rq(t, &cpu);
	struct runqueue *rq = &rqs[cpu];
	if (t->state == TASK_RUNNING || t->state == TASK_DEAD) {
		__raw_spin_unlock(&rq->lock);
		arch_irq_restore(flags);
		return;
	}
	t->state = TASK_RUNNING;
	/* Still current on its CPU (between set_current_state and the switch):
	 * schedule() will see TASK_RUNNING and keep it.  Between two run queues
	 * (migrating): whoever moves it queues it.  Otherwise queue it here --
	 * queueing a migrating task too would put it on two queues. */
	if (rq->curr != t && !t->on_rq && rq->last != t &&
	    !__atomic_load_n(&t->migrating, __ATOMIC_ACQUIRE)) {
		if ((rq->dying && !stays_while_dying(t, cpu)) || (t->bound_cpu >= 0 && (unsigned)t->bound_cpu != cpu)) {
			__raw_spin_unlock(&rq->lock);
			enqueue_remote(t, rq->dying ? leave_target(t, cpu) : (unsigned)t->bound_cpu);
			arch_irq_restore(flags);
			return;
		}
		rq_enqueue(rq, t);
		if (rq->curr)
			rq->curr->need_resched = rq->curr->is_idle || rq->curr->need_resched;
		__raw_spin_unlock(&rq->lock);
		if (cpu != smp_processor_id())
			arch_send_ipi(cpu, IPI_RESCHEDULE);
		arch_irq_restore(flags);
		return;
	}
	__raw_spin_unlock(&rq->lock);
	arch_irq_restore(flags);
}

void yield(void)
{
	schedule();
}

int sched_migrate(struct task *t, unsigned cpu)
{
	if (cpu >= nr_possible_cpus || !cpu_is_online(cpu))
		return -1;
	if (t == current_task()) {
		t->bound_cpu = (int)cpu;
		if (smp_processor_id() != cpu) {
			t->migrations++;
			schedule(); /* leaves through rq->migrate_out */
		}
		return 0;
	}
	unsigned long flags = arch_irq_save();
	unsigned from;
	lock_task_rq(t, &from);
	t->bound_cpu = (int)cpu;
	if (t->on_rq && from != cpu) {
		rq_remove(&rqs[from], t);
		t->migrations++;
		t->migrating = true;
		__raw_spin_unlock(&rqs[from].lock);
		enqueue_remote(t, cpu);
	} else {
		if (rqs[from].curr == t) {
			t->need_resched = true; /* it leaves at its next schedule() */
			if (from != smp_processor_id())
				arch_send_ipi(from, IPI_RESCHEDULE);
		} else if (!t->on_rq) {
			t->cpu = cpu; /* blocked: wakes up there */
		}
		__raw_spin_unlock(&rqs[from].lock);
	}
	arch_irq_restore(flags);
	return 0;
}

void sched_bind_current(int cpu)
{
	if (cpu < 0)
		current_task()->bound_cpu = TASK_ANY_CPU;
	else
		sched_migrate(current_task(), (unsigned)cpu);
}

int sched_pin_current(unsigned cpu)
{
	int old = current_task()->bound_cpu;
	sched_migrate(current_task(), cpu);
	return old;
}

/* ---- ticks, IPIs, idle ---- */

void sched_tick(void)
{
	struct task *t = current_task();
	if (!sched_running || !t)
		return;
	uint64_t now = arch_time_ns();
	if (smp_processor_id() == 0)
		wake_sleepers_due(now);
	struct runqueue *rq = &rqs[smp_processor_id()];
	check_rq_curr(rq, t, "tick");
	if (t->is_idle) {
		if (rq->nr)
			t->need_resched = true;
		else
			for (unsigned c = 0; c < nr_possible_cpus; c++)
				if (rqs[c].nr > 0 && c != smp_processor_id())
					t->need_resched = true;
	} else if (now - t->slice_start_ns >= SLICE_NS && rq->nr) {
		t->need_resched = true;
	}
}

void sched_ipi(void)
{
	struct task *t = current_task();
	if (t)
		t->need_resched = true;
}

bool need_resched(void)
{
	struct task *t = current_task();
	return t && __atomic_load_n(&t->need_resched, __ATOMIC_RELAXED);
}

bool sched_should_preempt(void)
{
	struct task *t = current_task();
	return sched_running && t && t->need_resched && t->preempt_count == 0;
}

void sched_preempt_irq(void)
{
	__schedule(true);
}

unsigned sched_nr_running(unsigned cpu)
{
	return rqs[cpu].nr + (rqs[cpu].curr && !rqs[cpu].curr->is_idle);
}


__noreturn void idle_loop(void)
{
	struct task *me = current_task();
	for (;;) {
		arch_irq_save();
		if (me->need_resched || rqs[smp_processor_id()].nr) {
			arch_irq_restore(1UL << 9);
			schedule();
			continue;
		}
		check_rq_curr(&rqs[smp_processor_id()], me, "idle");
		if (rqs[smp_processor_id()].dying)
			idle_die();
		arch_idle(); /* sti; hlt */
	}
}

static __noreturn void boot_idle_entry(void)
{
	finish_switch();
	idle_loop();
}

void sched_init_boot_cpu(void)
{
	/* The boot context becomes the "main" task (it runs the console); the
	 * boot CPU gets a separate idle task with its own stack. */
	struct task *main = make_static_task(&boot_main_task, "main", 0, false);
	main->bound_cpu = TASK_ANY_CPU;
	arch_set_current(main);
	main->on_cpu = true;
	rqs[0].curr = main;

	struct task *idle = kzalloc(sizeof(*idle));
	if (!idle || task_stack_alloc(idle) != 0)
		panic("sched: no memory for the idle task");
	make_static_task(idle, "idle/0", 0, true);
	task_stack_fill(idle);
	void *top = (char *)idle->stack_base + TASK_STACK_BYTES;
	idle->arch_sp = arch_task_stack_init(top, boot_idle_entry);
	rqs[0].idle = idle;
	sched_running = true;
}


/* One line per task and per CPU: what the scheduler believes (for `ps` and
 * for self-tests that got stuck). */
static void dump_task(struct task *t, void *arg)
{
	(void)arg;
	printk("task %u %s state=%d cpu=%u bound=%d on_rq=%d on_cpu=%d migrating=%d preempt=%u switches=%lu stack=%zu\n",
	       t->id, t->name, t->state, t->cpu, t->bound_cpu, t->on_rq, t->on_cpu, t->migrating, t->preempt_count,
	       (unsigned long)t->switches, sched_task_stack_used(t));
}


void sched_dump(void)
{
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		struct runqueue *rq = &rqs[c];
		printk("rq %u: curr=%s nr=%u head=%s lock=%d\n", c, rq->curr ? rq->curr->name : "-", rq->nr,
		       rq->head ? rq->head->name : "-", raw_spin_is_locked(&rq->lock));
	}
	sched_for_each_task(dump_task, NULL);
}


/*
 * The scheduler: per-CPU run queues of kernel threads, round-robin with a
 * time slice, timer-driven preemption, migration, and an idle task per CPU.
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
#include <vigil/check.h>
#include <vigil/config.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/inject.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/task.h>

#include "task_stack.h"

#define SLICE_NS 10000000ULL   /* 10 ms */

struct runqueue {
	volatile int lock;
	struct task *head, *tail;
	unsigned nr;                 /* queued, not counting the running task */
	struct task *curr;
	struct task *idle;
	struct task *last;           /* the task switched away from (finish_switch) */
	struct task *migrate_out;    /* runnable tasks leaving this CPU (finish_switch; chained by rq_next) */
	bool dying;                  /* going offline: takes no tasks, pushes its own away */
	uint64_t switches;
	struct task *curr_set_by;    /* the task that last set curr (hang reports) */
};

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

static struct runqueue rqs[CONFIG_MAX_CPUS];

/* Task stacks are filled with a pattern when created: the untouched part at
 * the bottom tells how deep a stack ever got (the high-water mark `tasks`
 * shows).  A clobbered bottom word means the stack was used to its last byte
 * or something else wrote there: an overflow proper faults on the guard page
 * below (task_stack.c).  Both count as overflows for `check`. */
#define STACK_FILL 0x57ac0ffee57ac0feULL

static unsigned stack_overflows_seen;   /* ever, joined tasks included */

static void __schedule(bool preempt);
static struct task boot_main_task;
static struct task *all_tasks;
static volatile int all_tasks_lock;
static unsigned next_task_id = 1;
static bool sched_running;

static void raw_lock(volatile int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			arch_cpu_relax();
}

static void raw_unlock(volatile int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

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
		raw_lock(&rqs[cpu].lock);
		if (t->cpu == cpu) {
			*cpu_out = cpu;
			return;
		}
		raw_unlock(&rqs[cpu].lock);
	}
}

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

/* A CPU's own thread stays on it while it goes down (until it sleeps). */
static bool stays_while_dying(const struct task *t, unsigned cpu)
{
	return t->percpu_thread && t->bound_cpu == (int)cpu;
}

static unsigned leave_target(struct task *t, unsigned from)
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

/* Queue a runnable task that is neither running nor queued on its CPU and
 * kick that CPU.  Called with interrupts off and no run-queue lock held.  A
 * CPU going offline takes nothing: the task goes to another one. */
static void enqueue_remote(struct task *t, unsigned cpu)
{
	raw_lock(&rqs[cpu].lock);
	while (rqs[cpu].dying && !stays_while_dying(t, cpu)) {
		raw_unlock(&rqs[cpu].lock);
		cpu = leave_target(t, cpu);
		raw_lock(&rqs[cpu].lock);
	}
	t->cpu = cpu;
	rq_enqueue(&rqs[cpu], t);
	/* After on_rq is set: a waker that sees migrating clear sees on_rq. */
	__atomic_store_n(&t->migrating, false, __ATOMIC_RELEASE);
	struct task *curr = rqs[cpu].curr;
	raw_unlock(&rqs[cpu].lock);
	if (cpu != smp_processor_id())
		arch_send_ipi(cpu, IPI_RESCHEDULE);
	else if (curr)
		curr->need_resched = true;
}

/* Second half of a switch, run by the task switched to, on its own stack,
 * with interrupts off and the local run-queue lock held by schedule(). */
static void finish_switch(void)
{
	struct runqueue *rq = &rqs[smp_processor_id()];
	struct task *prev = rq->last, *mig = rq->migrate_out;
	rq->last = NULL;
	rq->migrate_out = NULL;
	if (prev)
		__atomic_store_n(&prev->on_cpu, false, __ATOMIC_RELEASE);
	raw_unlock(&rq->lock);
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
		if (__atomic_exchange_n(&other->lock, 1, __ATOMIC_ACQUIRE))
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
		raw_unlock(&other->lock);
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
	raw_lock(&rq->lock);
	check_rq_curr(rq, prev, "schedule");
	if (prev->stack_phys && *(uint64_t *)phys_to_virt(prev->stack_phys) != STACK_FILL &&
	    !prev->stack_overflow_seen) {
		prev->stack_overflow_seen = true;
		__atomic_fetch_add(&stack_overflows_seen, 1, __ATOMIC_RELAXED);
		printk("BUG: sched: task '%s'/%u overflowed its stack\n", prev->name, prev->id);
	}
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
		raw_unlock(&rq->lock);
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
		raw_unlock(&rq->lock);
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
			raw_unlock(&rq->lock);
			enqueue_remote(t, rq->dying ? leave_target(t, cpu) : (unsigned)t->bound_cpu);
			arch_irq_restore(flags);
			return;
		}
		rq_enqueue(rq, t);
		if (rq->curr)
			rq->curr->need_resched = rq->curr->is_idle || rq->curr->need_resched;
		raw_unlock(&rq->lock);
		if (cpu != smp_processor_id())
			arch_send_ipi(cpu, IPI_RESCHEDULE);
		arch_irq_restore(flags);
		return;
	}
	raw_unlock(&rq->lock);
	arch_irq_restore(flags);
}

void yield(void)
{
	schedule();
}

/* ---- kernel threads ---- */

static __noreturn void task_exit(void)
{
	lockdep_task_exit(&current_task()->lockdep);
	arch_irq_save();
	current_task()->state = TASK_DEAD;
	schedule();
	panic("a dead task was scheduled");
}

static __noreturn void task_entry(void)
{
	finish_switch();
	struct task *t = current_task();
	arch_irq_restore(1UL << 9); /* interrupts on: a new task starts preemptible */
	t->fn(t->arg);
	task_exit();
}

static void stack_fill(struct task *t)
{
	uint64_t *w = phys_to_virt(t->stack_phys);
	for (size_t i = 0; i < (PAGE_SIZE << TASK_STACK_ORDER) / 8; i++)
		w[i] = STACK_FILL;
}

/* Bytes of t's stack ever used (0 for tasks on boot stacks). */
static size_t stack_used(const struct task *t);
size_t sched_task_stack_used(const struct task *t)
{
	return stack_used(t);
}

static size_t stack_used(const struct task *t)
{
	if (!t->stack_phys)
		return 0;
	const uint64_t *w = phys_to_virt(t->stack_phys);
	size_t n = (PAGE_SIZE << TASK_STACK_ORDER) / 8, i = 0;
	while (i < n && w[i] == STACK_FILL)
		i++;
	return (n - i) * 8;
}

static void register_task(struct task *t)
{
	raw_lock(&all_tasks_lock);
	t->id = next_task_id++;
	t->all_next = all_tasks;
	all_tasks = t;
	raw_unlock(&all_tasks_lock);
}

static void unregister_task(struct task *t)
{
	raw_lock(&all_tasks_lock);
	for (struct task **pp = &all_tasks; *pp; pp = &(*pp)->all_next) {
		if (*pp == t) {
			*pp = t->all_next;
			break;
		}
	}
	raw_unlock(&all_tasks_lock);
}

static unsigned next_free_cpu;

static struct task *kthread_create_run(void (*fn)(void *), void *arg, int cpu, const char *name, bool percpu);

struct task *kthread_run(void (*fn)(void *), void *arg, int cpu, const char *name)
{
	return kthread_create_run(fn, arg, cpu, name, false);
}

struct task *kthread_run_percpu(void (*fn)(void *), void *arg, unsigned cpu, const char *name)
{
	return kthread_create_run(fn, arg, (int)cpu, name, true);
}

static struct task *kthread_create_run(void (*fn)(void *), void *arg, int cpu, const char *name, bool percpu)
{
	struct task *t = kzalloc(sizeof(*t));
	if (!t)
		return NULL;
	if (task_stack_alloc(t) != 0) {
		kfree(t);
		return NULL;
	}
	lockdep_task_init(&t->lockdep);
	strlcpy(t->name, name, sizeof(t->name));
	t->fn = fn;
	t->arg = arg;
	t->bound_cpu = cpu;
	t->percpu_thread = percpu;
	t->state = TASK_RUNNING;
	stack_fill(t);
	void *top = (char *)t->stack_base + TASK_STACK_BYTES;
	t->arch_sp = arch_task_stack_init(top, task_entry);
	register_task(t);

	unsigned target;
	if (cpu >= 0) {
		target = (unsigned)cpu;
	} else {
		/* Spread free threads over the online CPUs. */
		unsigned n = nr_possible_cpus;
		target = 0;
		for (unsigned i = 0; i < n; i++) {
			unsigned c = __atomic_fetch_add(&next_free_cpu, 1, __ATOMIC_RELAXED) % n;
			if (cpu_is_online(c)) {
				target = c;
				break;
			}
		}
	}
	unsigned long flags = arch_irq_save();
	enqueue_remote(t, target);
	arch_irq_restore(flags);
	return t;
}

void kthread_join(struct task *t)
{
	struct task *me = current_task();
	__atomic_store_n(&t->joiner, me, __ATOMIC_SEQ_CST);
	for (;;) {
		set_current_state(TASK_BLOCKED);
		if (__atomic_load_n(&t->exited, __ATOMIC_SEQ_CST))
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	unregister_task(t);
	task_stack_free(t);
	kfree(t);
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
		raw_unlock(&rqs[from].lock);
		enqueue_remote(t, cpu);
	} else {
		if (rqs[from].curr == t) {
			t->need_resched = true; /* it leaves at its next schedule() */
			if (from != smp_processor_id())
				arch_send_ipi(from, IPI_RESCHEDULE);
		} else if (!t->on_rq) {
			t->cpu = cpu; /* blocked: wakes up there */
		}
		raw_unlock(&rqs[from].lock);
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

/* ---- sleeping ---- */

struct sleeper {
	struct task *task;
	uint64_t wake_ns;
	struct sleeper *next;
};
static struct sleeper *sleepers;
static volatile int sleepers_lock;

void sleep_ns(uint64_t ns)
{
	struct sleeper s = { current_task(), arch_time_ns() + ns, NULL };
	unsigned long flags = arch_irq_save();
	raw_lock(&sleepers_lock);
	s.next = sleepers;
	sleepers = &s;
	set_current_state(TASK_BLOCKED);
	raw_unlock(&sleepers_lock);
	arch_irq_restore(flags);
	while (current_task()->state == TASK_BLOCKED)
		schedule();
	/* Make sure we are off the list (a spurious wake-up leaves us on it). */
	flags = arch_irq_save();
	raw_lock(&sleepers_lock);
	for (struct sleeper **pp = &sleepers; *pp; pp = &(*pp)->next)
		if (*pp == &s) {
			*pp = s.next;
			break;
		}
	raw_unlock(&sleepers_lock);
	arch_irq_restore(flags);
}

static void wake_sleepers(uint64_t now)
{
	struct task *due[16];
	unsigned n = 0;
	raw_lock(&sleepers_lock);
	for (struct sleeper **pp = &sleepers; *pp && n < ARRAY_SIZE(due);) {
		if ((*pp)->wake_ns <= now) {
			due[n++] = (*pp)->task;
			*pp = (*pp)->next;
		} else {
			pp = &(*pp)->next;
		}
	}
	raw_unlock(&sleepers_lock);
	for (unsigned i = 0; i < n; i++)
		wake_up_task(due[i]);
}

/* ---- ticks, IPIs, idle ---- */

void sched_tick(void)
{
	struct task *t = current_task();
	if (!sched_running || !t)
		return;
	uint64_t now = arch_time_ns();
	if (smp_processor_id() == 0 && __atomic_load_n(&sleepers, __ATOMIC_RELAXED))
		wake_sleepers(now);
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

static struct task *make_static_task(struct task *t, const char *name, unsigned cpu, bool idle)
{
	lockdep_task_init(&t->lockdep);
	strlcpy(t->name, name, sizeof(t->name));
	t->state = TASK_RUNNING;
	t->cpu = cpu;
	t->bound_cpu = (int)cpu;
	t->is_idle = idle;
	register_task(t);
	return t;
}

/* The idle task of a CPU going offline, interrupts off: once nothing is
 * queued (every enqueue onto a dying run queue is redirected, under its
 * lock), run the STARTING teardowns and park the CPU. */
INJECT_POINT(cpu_wont_die,
	     "the CPU being taken offline keeps idling instead of stopping (count=0: until cleared)");

static void idle_die(void)
{
	unsigned cpu = smp_processor_id();
	/* Checked again at every pass of the idle loop (each tick). */
	if (inject_hit(&inject_cpu_wont_die, cpu))
		return;
	struct runqueue *rq = &rqs[cpu];
	raw_lock(&rq->lock);
	bool empty = rq->nr == 0 && !rq->migrate_out;
	raw_unlock(&rq->lock);
	if (!empty)
		return;
	cpuhp_ap_dying(cpu);
	arch_cpu_park();
}

static __noreturn void idle_loop(void)
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
	stack_fill(idle);
	void *top = (char *)idle->stack_base + TASK_STACK_BYTES;
	idle->arch_sp = arch_task_stack_init(top, boot_idle_entry);
	rqs[0].idle = idle;
	sched_running = true;
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

/* For `ps`-like listings and tests. */
void sched_for_each_task(void (*fn)(struct task *t, void *arg), void *arg)
{
	raw_lock(&all_tasks_lock);
	for (struct task *t = all_tasks; t; t = t->all_next)
		fn(t, arg);
	raw_unlock(&all_tasks_lock);
}

/* One line per task and per CPU: what the scheduler believes (for `ps` and
 * for self-tests that got stuck). */
static void dump_task(struct task *t, void *arg)
{
	(void)arg;
	printk("task %u %s state=%d cpu=%u bound=%d on_rq=%d on_cpu=%d migrating=%d preempt=%u switches=%lu stack=%zu\n",
	       t->id, t->name, t->state, t->cpu, t->bound_cpu, t->on_rq, t->on_cpu, t->migrating, t->preempt_count,
	       (unsigned long)t->switches, stack_used(t));
}

struct stack_query {
	uint64_t phys;
	char *buf;
	size_t len;
	bool found;
};

static void match_stack(struct task *t, void *arg)
{
	struct stack_query *q = arg;
	if (!q->found && t->stack_phys && q->phys >= t->stack_phys &&
	    q->phys < t->stack_phys + (PAGE_SIZE << TASK_STACK_ORDER)) {
		snprintf(q->buf, q->len, "stack of task '%s'/%u (page %lu of %u from the bottom)", t->name, t->id,
			 (unsigned long)((q->phys - t->stack_phys) / PAGE_SIZE), 1u << TASK_STACK_ORDER);
		q->found = true;
	}
}

bool sched_describe_guard_page(uint64_t addr, char *buf, size_t len)
{
	for (struct task *t = __atomic_load_n(&all_tasks, __ATOMIC_ACQUIRE); t; t = t->all_next) {
		uint64_t base = (uint64_t)t->stack_base;
		if (base && addr >= base - PAGE_SIZE && addr < base) {
			snprintf(buf, len, "task '%s'/%u", t->name, t->id);
			return true;
		}
	}
	return false;
}

struct stack_check {
	char *why;
	size_t len;
	bool bad;
};

static void check_one_stack(struct task *t, void *arg)
{
	struct stack_check *c = arg;
	if (c->bad || !t->stack_phys || *(const uint64_t *)phys_to_virt(t->stack_phys) == STACK_FILL)
		return;
	c->bad = true;
	snprintf(c->why, c->len, "task '%s'/%u used its whole %zu-byte stack (bottom word clobbered)", t->name,
		 t->id, TASK_STACK_BYTES);
}

/* `check`: no task's stack ever overflowed (its own canary, or one seen on a
 * task since joined). */
static int check_stacks(char *why, size_t len)
{
	struct stack_check c = {why, len, false};
	sched_for_each_task(check_one_stack, &c);
	if (c.bad)
		return -1;
	unsigned n = __atomic_load_n(&stack_overflows_seen, __ATOMIC_RELAXED);
	if (n) {
		snprintf(why, len, "%u stack overflow%s seen since boot", n, n == 1 ? "" : "s");
		return -1;
	}
	return 0;
}
INVARIANT(stacks, check_stacks);

bool sched_describe_stack_page(uint64_t phys, char *buf, size_t len)
{
	struct stack_query q = {phys, buf, len, false};
	sched_for_each_task(match_stack, &q);
	return q.found;
}

void sched_dump(void)
{
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		struct runqueue *rq = &rqs[c];
		printk("rq %u: curr=%s nr=%u head=%s lock=%d\n", c, rq->curr ? rq->curr->name : "-", rq->nr,
		       rq->head ? rq->head->name : "-", rq->lock);
	}
	sched_for_each_task(dump_task, NULL);
}

/* ---- CPU hotplug (include/vigil/cpuhp.h) ---- */

/* Open or close cpu's run queue to new work; closing also asks whatever
 * runs there to reschedule (when kick). */
static void set_rq_dying(unsigned cpu, bool dying, bool kick)
{
	unsigned long flags = arch_irq_save();
	raw_lock(&rqs[cpu].lock);
	__atomic_store_n(&rqs[cpu].dying, dying, __ATOMIC_RELEASE);
	struct task *curr = rqs[cpu].curr;
	if (kick && curr)
		curr->need_resched = true;
	raw_unlock(&rqs[cpu].lock);
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

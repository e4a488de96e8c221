/*
 * Kernel threads: creating one (its stack, its first switch into
 * task_entry()), its exit and the join that frees it, and the list of every
 * task (ids, `tasks` listings, fault reports).
 */
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/task.h>

#include "sched_internal.h"
#include "task_stack.h"

static struct task *all_tasks;
/* The bare ticket lock: register_task() runs for the boot context before it
 * is the current task, so raw_spin_lock()'s preempt_disable() could not. */
static raw_spinlock_t all_tasks_lock = RAW_SPIN_LOCK_UNLOCKED;
static unsigned next_task_id = 1;

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

/* all_tasks_lock is taken with interrupts off: it is a ticket lock, and a
 * waiter preempted in the queue would keep its turn, stalling every later
 * locker (sched_start_ap() among them, interrupts off) until it ran again. */
void register_task(struct task *t)
{
	unsigned long flags;
	__raw_spin_lock_irqsave(&all_tasks_lock, flags);
	t->id = next_task_id++;
	t->all_next = all_tasks;
	all_tasks = t;
	__raw_spin_unlock_irqrestore(&all_tasks_lock, flags);
}

static void unregister_task(struct task *t)
{
	unsigned long flags;
	__raw_spin_lock_irqsave(&all_tasks_lock, flags);
	for (struct task **pp = &all_tasks; *pp; pp = &(*pp)->all_next) {
		if (*pp == t) {
			*pp = t->all_next;
			break;
		}
	}
	__raw_spin_unlock_irqrestore(&all_tasks_lock, flags);
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
	task_stack_fill(t);
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

struct task *make_static_task(struct task *t, const char *name, unsigned cpu, bool idle)
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

/* For `ps`-like listings and tests. */
void sched_for_each_task(void (*fn)(struct task *t, void *arg), void *arg)
{
	unsigned long flags;
	__raw_spin_lock_irqsave(&all_tasks_lock, flags);
	for (struct task *t = all_tasks; t; t = t->all_next)
		fn(t, arg);
	__raw_spin_unlock_irqrestore(&all_tasks_lock, flags);
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


/*
 * sleep_ns(): a task sleeps on a list of sleepers until the boot CPU's timer
 * tick finds its time has come and wakes it.
 */
#include <vigil/arch.h>
#include <vigil/task.h>

#include "sched_internal.h"

struct sleeper {
	struct task *task;
	uint64_t wake_ns;
	struct sleeper *next;
};
static struct sleeper *sleepers;
/* Bare ticket lock with interrupts off: the tick takes it from the timer
 * interrupt. */
static raw_spinlock_t sleepers_lock = RAW_SPIN_LOCK_UNLOCKED;

void sleep_ns(uint64_t ns)
{
	struct sleeper s = { current_task(), arch_time_ns() + ns, NULL };
	unsigned long flags = arch_irq_save();
	__raw_spin_lock(&sleepers_lock);
	s.next = sleepers;
	sleepers = &s;
	set_current_state(TASK_BLOCKED);
	__raw_spin_unlock(&sleepers_lock);
	arch_irq_restore(flags);
	while (current_task()->state == TASK_BLOCKED)
		schedule();
	/* Make sure we are off the list (a spurious wake-up leaves us on it). */
	flags = arch_irq_save();
	__raw_spin_lock(&sleepers_lock);
	for (struct sleeper **pp = &sleepers; *pp; pp = &(*pp)->next)
		if (*pp == &s) {
			*pp = s.next;
			break;
		}
	__raw_spin_unlock(&sleepers_lock);
	arch_irq_restore(flags);
}

/*
 * The wake-ups are made under sleepers_lock: a sleeper woken early by
 * someone else (a vCPU's HLT sleep ended by a kick) takes the lock on its way
 * out of sleep_ns(), so it cannot return -- and its task exit and be freed --
 * while the tick still holds a pointer to it.  Lock order: sleepers_lock,
 * then a run-queue lock (inside wake_up_task()); nothing takes them the
 * other way round.
 */
void wake_sleepers_due(uint64_t now)
{
	if (!__atomic_load_n(&sleepers, __ATOMIC_RELAXED))
		return;
	unsigned n = 0;
	__raw_spin_lock(&sleepers_lock);
	for (struct sleeper **pp = &sleepers; *pp && n < 16;) {
		if ((*pp)->wake_ns <= now) {
			struct task *t = (*pp)->task;
			*pp = (*pp)->next;
			wake_up_task(t);
			n++;
		} else {
			pp = &(*pp)->next;
		}
	}
	__raw_spin_unlock(&sleepers_lock);
}


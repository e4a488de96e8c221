/*
 * spinlock_t: the ticket lock of spinlock.h plus lockdep.  Lockdep is told
 * before spinning (so a deadlock is reported instead of hanging silently)
 * and after a trylock succeeded (a trylock never waits, so it adds no
 * ordering edge into the lock).
 */
#include <vigil/lockdep.h>
#include <vigil/printk.h>
#include <vigil/spinlock.h>

void __spin_lock_init(spinlock_t *l, const char *name, const struct lock_class_key *key)
{
	raw_spin_lock_init(&l->raw);
	lockdep_init_map(&l->dep_map, name, key);
}

void spin_lock_at(spinlock_t *l, unsigned subclass, const char *site)
{
	preempt_disable();
	lock_acquire(&l->dep_map, subclass, false, false, site, LOCKDEP_RET_IP);
	__raw_spin_lock(&l->raw);
}

bool spin_trylock_at(spinlock_t *l, const char *site)
{
	preempt_disable();
	if (__raw_spin_trylock(&l->raw)) {
		lock_acquire(&l->dep_map, 0, false, true, site, LOCKDEP_RET_IP);
		return true;
	}
	preempt_enable();
	return false;
}

/* Releasing a free ticket lock would advance `owner` past `next` and hand
 * the lock to the next two lockers at once; refuse and report instead. */
static bool unlock_ok(spinlock_t *l, const char *site)
{
	if (raw_spin_is_locked(&l->raw))
		return true;
	lockdep_report_misuse("unlock-unlocked", &l->dep_map, site,
			      "spin_unlock of a spinlock that is not locked");
	return false;
}

void spin_unlock_at(spinlock_t *l, const char *site)
{
	if (!unlock_ok(l, site))
		return;
	lock_release(&l->dep_map, site, LOCKDEP_RET_IP);
	__raw_spin_unlock(&l->raw);
	preempt_enable();
}

unsigned long spin_lock_irqsave_at(spinlock_t *l, unsigned subclass, const char *site)
{
	unsigned long flags = arch_irq_save();

	preempt_disable();
	lock_acquire(&l->dep_map, subclass, false, false, site, LOCKDEP_RET_IP);
	__raw_spin_lock(&l->raw);
	return flags;
}

bool spin_trylock_irqsave_at(spinlock_t *l, unsigned long *flags, const char *site)
{
	*flags = arch_irq_save();
	preempt_disable();
	if (__raw_spin_trylock(&l->raw)) {
		lock_acquire(&l->dep_map, 0, false, true, site, LOCKDEP_RET_IP);
		return true;
	}
	preempt_enable();
	arch_irq_restore(*flags);
	return false;
}

void spin_unlock_irqrestore_at(spinlock_t *l, unsigned long flags, const char *site)
{
	if (!unlock_ok(l, site))
		return;
	lock_release(&l->dep_map, site, LOCKDEP_RET_IP);
	__raw_spin_unlock(&l->raw);
	arch_irq_restore(flags);
	preempt_enable();
}

void raw_spin_ticket_passed(raw_spinlock_t *l, uint32_t me, uint32_t owner)
{
	static int reported;
	if (__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		return;
	printk("BUG: spinlock %p: ticket %u passed (owner %u, next %u, holder %s, last unlocker %s/%u) in %s/%u\n",
	       (void *)l, me, owner, l->next, l->holder ? task_name(l->holder) : "-",
	       l->last_unlocker ? task_name(l->last_unlocker) : "-", l->last_unlocker ? task_id(l->last_unlocker) : 0,
	       current_task() ? task_name(current_task()) : "-", current_task() ? task_id(current_task()) : 0);
	arch_dump_stack();
}

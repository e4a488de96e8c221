/*
 * The old lock design of the usage count, replayed with its own lock so
 * lockdep can show why it was left (docs/locking.md, "usage_lock is taken
 * inside the hotplug lock").  The production path never runs it.
 *
 * The old design counted VM users under the VM-list lock, held across the
 * enable and so taken OUTSIDE cpus_read_lock().  A notifier that runs under
 * the hotplug lock and walks the VM list (Linux's kvmclock cpufreq
 * notifier) takes the same lock INSIDE it.  The two orders form a cycle:
 * once a hotplug writer queues between them, both wait for ever.  Lockdep
 * reports it the first time both orders are seen, long before any real
 * deadlock.
 */
#include <vigil/cpuhp_lock.h>
#include <vigil/mutex.h>
#include "virt_internal.h"

/* Stands for the old design's vm_list_lock: its own class, so the real
 * vm_list_lock keeps a clean record. */
static DEFINE_MUTEX(old_vm_list_lock);

void virt_replay_old_lock_design(void)
{
	/* The old vm_create: the count's lock, then the hotplug lock around
	 * the enable on every online CPU. */
	mutex_lock(&old_vm_list_lock);
	cpus_read_lock();
	/* (usage_count++, enable every online CPU) */
	cpus_read_unlock();
	mutex_unlock(&old_vm_list_lock);

	/* The notifier, called with the hotplug lock held. */
	cpus_read_lock();
	mutex_lock(&old_vm_list_lock);
	/* (would update every VM's clock) */
	mutex_unlock(&old_vm_list_lock);
	cpus_read_unlock();
}

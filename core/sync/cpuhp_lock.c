/*
 * The CPU-hotplug lock: one global per-CPU rw-semaphore (cpuhp_lock.h).
 * Lockdep knows it as "cpu_hotplug_lock", the name Linux reports, so
 * reports read the same as the Linux ones the design follows.
 */
#include <vigil/cpuhp_lock.h>
#include <vigil/lockdep.h>
#include <vigil/percpu_rwsem.h>

static DEFINE_PERCPU_RWSEM(cpu_hotplug_lock);

struct percpu_rw_semaphore *cpuhp_lock(void)
{
	return &cpu_hotplug_lock;
}

void cpus_read_lock_at(const char *site)
{
	percpu_down_read_at(&cpu_hotplug_lock, site);
}

bool cpus_read_trylock_at(const char *site)
{
	return percpu_down_read_trylock_at(&cpu_hotplug_lock, site);
}

void cpus_read_unlock_at(const char *site)
{
	percpu_up_read_at(&cpu_hotplug_lock, site);
}

void cpus_write_lock_at(const char *site)
{
	percpu_down_write_at(&cpu_hotplug_lock, site);
}

void cpus_write_unlock_at(const char *site)
{
	percpu_up_write_at(&cpu_hotplug_lock, site);
}

void lockdep_assert_cpus_held_at(const char *site)
{
	lockdep_assert_held_at(&cpu_hotplug_lock.dep_map, site);
}

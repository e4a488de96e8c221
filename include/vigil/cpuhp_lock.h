/*
 * The CPU-hotplug lock (docs/locking.md): one global per-CPU
 * rw-semaphore, lockdep class "cpu_hotplug_lock".
 *
 *   cpus_read_lock()    the set of online CPUs cannot change until
 *                       cpus_read_unlock(); cheap (per-CPU counter), may
 *                       sleep while a hotplug operation runs.  Taken outermost
 *                       by virtualization enable/disable (then usage_lock).
 *   cpus_write_lock()   CPU online/offline: waits for every reader to leave
 *                       and keeps new ones out until cpus_write_unlock().
 *
 * Not recursive: cpus_read_lock() inside cpus_read_lock() deadlocks if a
 * hotplug writer arrives in between, and lockdep reports it.
 */
#ifndef VIGIL_CPUHP_LOCK_H
#define VIGIL_CPUHP_LOCK_H

#include <vigil/lockdep.h>

void cpus_read_lock_at(const char *site);
bool cpus_read_trylock_at(const char *site);
void cpus_read_unlock_at(const char *site);
void cpus_write_lock_at(const char *site);
void cpus_write_unlock_at(const char *site);
void lockdep_assert_cpus_held_at(const char *site);

#define cpus_read_lock()           cpus_read_lock_at(LOCKDEP_SITE)
#define cpus_read_trylock()        cpus_read_trylock_at(LOCKDEP_SITE)
#define cpus_read_unlock()         cpus_read_unlock_at(LOCKDEP_SITE)
#define cpus_write_lock()          cpus_write_lock_at(LOCKDEP_SITE)
#define cpus_write_unlock()        cpus_write_unlock_at(LOCKDEP_SITE)
/* The current task holds the hotplug lock, for read or write. */
#define lockdep_assert_cpus_held() lockdep_assert_cpus_held_at(LOCKDEP_SITE)

/* The lock itself, for lockdep assertions and tests. */
struct percpu_rw_semaphore;
struct percpu_rw_semaphore *cpuhp_lock(void);

#endif

/*
 * Per-CPU read-write semaphores: for read-mostly locks whose readers must be
 * cheap -- the CPU-hotplug lock (cpuhp_lock.h) above all, taken for read by
 * every VM creation and every enable/disable of virtualization, for write
 * only by CPU online/offline.
 *
 * Readers: with preemption off, add one to THIS CPU's counter (its own cache
 * line: no line shared with other CPUs is written), full barrier, then check
 * that no writer is active or pending (`block`).  If one is, undo and sleep
 * until the writer is done.  The writer: set `block`, full barrier, then wait
 * until the sum of all per-CPU counters is zero.  The two full barriers are
 * a Dekker pair: either the reader sees `block` and backs off, or the writer's
 * sum includes the reader's increment and it waits for it.  Neither can miss
 * the other.  up_read: full barrier (the critical section stays before the
 * decrement), decrement this CPU's counter, full barrier, and if a writer is
 * pending wake it to recount.
 *
 * A reader may migrate while holding the lock and unlock on another CPU: a
 * counter may then go negative; only the sum means anything.
 *
 * Writers exclude each other through the same `block` flag (exchange 0 -> 1);
 * a writer sleeping for the readers holds it, so new readers queue behind the
 * writer.  up_write clears `block` and wakes the queued readers and one
 * queued writer.  Readers may starve under a continuous stream of writers --
 * acceptable for CPU hotplug, where writers are rare.
 *
 * Sleeping lock: not from atomic context.  Read acquisitions are tracked by
 * lockdep like write ones (lockdep.h): nesting cpus_read_lock() inside itself
 * deadlocks once a hotplug writer is pending.
 */
#ifndef VIGIL_PERCPU_RWSEM_H
#define VIGIL_PERCPU_RWSEM_H

#include <vigil/config.h>
#include <vigil/lockdep.h>
#include <vigil/waitqueue.h>

#define PERCPU_RWSEM_LINE 64  /* cache line: one counter per line */

struct percpu_rwsem_count {
	long readers;
} __attribute__((aligned(PERCPU_RWSEM_LINE)));

struct percpu_rw_semaphore {
	struct percpu_rwsem_count count[CONFIG_MAX_CPUS]; /* indexed by smp_processor_id() */
	int block __attribute__((aligned(PERCPU_RWSEM_LINE))); /* writer active or pending */
	struct wait_queue_head readers_wq;  /* readers waiting for block == 0 */
	struct wait_queue_head writers_wq;  /* writers waiting for another writer */
	struct wait_queue_head drain_wq;    /* the writer waiting for readers to leave */
	struct lockdep_map dep_map;
};

#define __PERCPU_RWSEM_INITIALIZER(name) {                                   \
	.block = 0,                                                           \
	.readers_wq = WAIT_QUEUE_HEAD_INITIALIZER((name).readers_wq),         \
	.writers_wq = WAIT_QUEUE_HEAD_INITIALIZER((name).writers_wq),         \
	.drain_wq = WAIT_QUEUE_HEAD_INITIALIZER((name).drain_wq),             \
	.dep_map = LOCKDEP_MAP_INIT(#name),                                   \
}
#define DEFINE_PERCPU_RWSEM(name) \
	struct percpu_rw_semaphore name = __PERCPU_RWSEM_INITIALIZER(name)

void __percpu_init_rwsem(struct percpu_rw_semaphore *s, const char *name,
			 const struct lock_class_key *key);
#define percpu_init_rwsem(s) do {                                            \
	static struct lock_class_key __key;                                   \
	__percpu_init_rwsem((s), #s, &__key);                                 \
} while (0)

void percpu_down_read_at(struct percpu_rw_semaphore *s, const char *site);
bool percpu_down_read_trylock_at(struct percpu_rw_semaphore *s, const char *site);
void percpu_up_read_at(struct percpu_rw_semaphore *s, const char *site);
void percpu_down_write_at(struct percpu_rw_semaphore *s, const char *site);
void percpu_up_write_at(struct percpu_rw_semaphore *s, const char *site);

#define percpu_down_read(s)         percpu_down_read_at((s), LOCKDEP_SITE)
#define percpu_down_read_trylock(s) percpu_down_read_trylock_at((s), LOCKDEP_SITE)
#define percpu_up_read(s)           percpu_up_read_at((s), LOCKDEP_SITE)
#define percpu_down_write(s)        percpu_down_write_at((s), LOCKDEP_SITE)
#define percpu_up_write(s)          percpu_up_write_at((s), LOCKDEP_SITE)

/* Snapshots, for diagnostics and tests: the sum of the reader counters, and
 * whether a writer holds or waits for the lock. */
long percpu_rwsem_readers(struct percpu_rw_semaphore *s);
bool percpu_rwsem_writer_pending(struct percpu_rw_semaphore *s);

#endif

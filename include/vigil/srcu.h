/*
 * SRCU: sleepable read-copy-update.  Readers mark a read section with
 * srcu_read_lock()/srcu_read_unlock() and may sleep inside it (take mutexes,
 * allocate, wait for completions); an updater publishes a new version of a
 * structure with one pointer store, calls synchronize_srcu() -- which returns
 * only once every read section that began before the call has ended -- and
 * may then free or reuse the old version.  Readers never wait for updaters;
 * updaters wait for readers (the grace period).  One srcu_struct is one
 * domain: a grace period waits only for its own readers, so a domain whose
 * readers sleep long slows only its own updaters.
 *
 * The implementation is the classic counter-based one (as in Linux before
 * its tree SRCU):
 *
 *   - Two index slots, 0 and 1.  `completed` counts index flips; its low bit
 *     is the slot new readers use.
 *   - Per CPU and per slot, a lock count and an unlock count, each only ever
 *     incremented.  srcu_read_lock() increments this CPU's lock count of the
 *     current slot and returns the slot; srcu_read_unlock(idx) increments the
 *     unlock count of that slot on whatever CPU the reader is on by then (a
 *     reader may sleep and migrate).  No count is shared by two CPUs, so a
 *     read section writes only its own CPU's cache line.
 *   - A slot is drained when, summed over every CPU, its unlock count equals
 *     its lock count.  synchronize_srcu() flips the index so new readers go
 *     to the other slot, then waits until the old slot drains.
 *
 * Sums run over every CPU that ever ran a reader of the domain (a high-water
 * mark readers raise), online or not: a reader that locked on a CPU since
 * taken offline and unlocked elsewhere is still counted on both sides.
 *
 * Waiting: the updater sleeps on a wait queue; a reader leaving a section
 * wakes it when one is queued.  synchronize_srcu() checks once and sleeps;
 * synchronize_srcu_expedited() polls (interrupts and preemption on) for a
 * while before it sleeps, which shortens the grace period when readers are
 * short, at the cost of the updater's CPU time.  Neither ever spins with
 * interrupts or preemption off.  Updaters of one domain are serialized.
 *
 * Contexts: srcu_read_lock/unlock from task context (the section may
 * sleep); the unlock must come from the task that locked (lockdep's held
 * stack is per task; __srcu_read_lock/__srcu_read_unlock skip lockdep for a
 * section handed from one task to another).  synchronize_srcu*() sleep:
 * task context only, and never inside a read section of the same domain --
 * it would wait for itself.  Lockdep reports that (and longer chains such as
 * "reader takes M, M's holder synchronizes"): a read section is tracked as an
 * acquisition that never waits (no dependency into it, so nesting read
 * sections, or entering one with any lock held, is fine), and a grace period
 * as lock_sync(): a wait for every holder, ordered after every lock the
 * updater holds.
 *
 * Size: the counters are a cache line per possible CPU (CONFIG_MAX_CPUS):
 * 32 KiB.  init_srcu_struct() cannot fail.
 */
#ifndef VIGIL_SRCU_H
#define VIGIL_SRCU_H

#include <vigil/config.h>
#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/types.h>
#include <vigil/waitqueue.h>

#define SRCU_LINE 64

struct srcu_cpu_counts {
	unsigned long lock[2];    /* read sections entered on this CPU, per slot */
	unsigned long unlock[2];  /* read sections left on this CPU, per slot */
} __attribute__((aligned(SRCU_LINE)));

struct srcu_struct {
	struct srcu_cpu_counts cpu[CONFIG_MAX_CPUS];  /* indexed by smp_processor_id() */
	/* Read by every reader, written by updaters once per flip. */
	unsigned long completed __attribute__((aligned(SRCU_LINE))); /* flips; bit 0: current slot */
	unsigned nr_cpus;          /* 1 + the highest CPU a reader ever used: the sum's bound */
	struct mutex gp_mutex;     /* one grace period at a time */
	struct wait_queue_head gp_wq;  /* the updater waiting for a slot to drain */
	unsigned long gps;         /* grace periods completed (diagnostics) */
	unsigned long gp_sleeps;   /* times an updater slept for readers (diagnostics) */
	struct lockdep_map dep_map;
};

#define __SRCU_INITIALIZER(name) {                                           \
	.completed = 0,                                                       \
	.nr_cpus = 0,                                                         \
	.gp_mutex = __MUTEX_INITIALIZER((name).gp_mutex),                     \
	.gp_wq = WAIT_QUEUE_HEAD_INITIALIZER((name).gp_wq),                   \
	.dep_map = LOCKDEP_MAP_INIT(#name),                                   \
}
/* A statically allocated domain (its own lockdep class). */
#define DEFINE_SRCU(name) struct srcu_struct name = __SRCU_INITIALIZER(name)
#define DEFINE_STATIC_SRCU(name) static DEFINE_SRCU(name)

/* Run-time initialization: every domain initialized at one source line is
 * one lockdep class (so a synchronize of one inside a read section of
 * another domain of the same class is reported too -- keep such domains
 * from nesting, or give them separate init sites). */
void __init_srcu_struct(struct srcu_struct *s, const char *name, const struct lock_class_key *key);
#define init_srcu_struct(s) do {                                             \
	static struct lock_class_key __key;                                   \
	__init_srcu_struct((s), #s, &__key);                                  \
} while (0)
/* Before the memory is reused: a domain with readers inside is a bug,
 * reported through lockdep (kind "srcu-cleanup-busy"). */
void cleanup_srcu_struct(struct srcu_struct *s);

/* Enter a read section; returns the slot to hand to srcu_read_unlock(). */
int srcu_read_lock_at(struct srcu_struct *s, const char *site);
void srcu_read_unlock_at(struct srcu_struct *s, int idx, const char *site);
#define srcu_read_lock(s)          srcu_read_lock_at((s), LOCKDEP_SITE)
#define srcu_read_unlock(s, idx)   srcu_read_unlock_at((s), (idx), LOCKDEP_SITE)

/* The counter halves alone, without lockdep: for a read section whose two
 * ends run in different tasks (lockdep's held stack is per task). */
int __srcu_read_lock(struct srcu_struct *s);
void __srcu_read_unlock(struct srcu_struct *s, int idx);

/* Wait until every read section of s that began before the call has ended.
 * Sleeps; task context, not inside a read section of s. */
void synchronize_srcu_at(struct srcu_struct *s, const char *site);
void synchronize_srcu_expedited_at(struct srcu_struct *s, const char *site);
#define synchronize_srcu(s)           synchronize_srcu_at((s), LOCKDEP_SITE)
#define synchronize_srcu_expedited(s) synchronize_srcu_expedited_at((s), LOCKDEP_SITE)

/* Is the current task inside a read section of s?  true when lockdep is
 * off (so assertions built on it stay quiet), as lockdep_is_held(). */
static inline bool srcu_read_lock_held(const struct srcu_struct *s)
{
	return lockdep_is_held_map(&s->dep_map);
}
/* Report (lockdep kind "assert-held") unless inside a read section of s. */
#define lockdep_assert_srcu_read_held(s) lockdep_assert_held_at(&(s)->dep_map, LOCKDEP_SITE)

/* Load an SRCU-protected pointer: an acquire load, so the fields of the
 * object it points to are read after the pointer (pairs with the updater's
 * release store, rcu_assign_pointer() style), checked to be inside a read
 * section of s. */
#define srcu_dereference(p, s) ({                                            \
	lockdep_assert_held_at(&(s)->dep_map, LOCKDEP_SITE);                  \
	__atomic_load_n(&(p), __ATOMIC_ACQUIRE);                              \
})
/* Publish a new version: a release store, so its initialization is visible
 * before the pointer. */
#define srcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

/* Diagnostics: read sections currently inside s (both slots), and grace
 * periods completed. */
unsigned long srcu_readers_active(struct srcu_struct *s);
unsigned long srcu_batches_completed(struct srcu_struct *s);

#endif

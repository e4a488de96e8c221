/*
 * lockdep: the lock validator.  Every lock embeds a struct lockdep_map; every
 * acquisition and release is reported here (lock_acquire / lock_release) and
 * checked against what the kernel has seen so far:
 *
 *  - lock classes: all locks initialized at one place of the source share a
 *    class (the init macros declare a static struct lock_class_key there);
 *    statically defined locks (DEFINE_MUTEX...) are a class of their own.
 *  - each task's held-lock stack (struct lockdep_task, which the scheduler
 *    embeds in its task and returns from lockdep_current()).
 *  - the dependency graph: holding A while acquiring B records the edge
 *    A -> B.  Every NEW edge is checked: if B already reaches A, the ordering
 *    can deadlock, and the report shows both chains -- the acquisition now
 *    (held stack, sites) and the existing path B -> ... -> A with the context
 *    in which each of its edges was first seen.  This fires the first time
 *    the inverse order is seen, not when it actually deadlocks.  A cycle is
 *    reported once (the edge stays in the graph).
 *  - read acquisitions (rw-semaphores, the CPU-hotplug lock) order like
 *    write acquisitions: vigil's rw-semaphores let a waiting writer block new
 *    readers, so a read-read cycle deadlocks as soon as writers wait on both
 *    locks, and a recursive read deadlocks behind a waiting writer.  There is
 *    no "recursive read" exemption.
 *  - trylocks cannot block: they add no edge into the trylocked lock (locks
 *    taken while it is held still depend on it).
 *  - recursive acquisition of a held class (use the _nested variants with a
 *    subclass for deliberate same-class nesting), release of a lock that is
 *    not held, a task exiting with locks held, might_sleep() in atomic
 *    context, and the lockdep_assert_*() checks.
 *
 * Violations are printed (printk, "lockdep: " lines), counted and kept in a
 * short list for the console's `lockdep` command (one key=value line each).
 * Checks report; they never panic.  Reports made between lockdep_expect_begin()
 * and lockdep_expect_end() (selftests planting a bug on purpose) are counted
 * separately and are not violations.
 *
 * lockdep=off on the command line turns all checking off.  Lockdep's own state
 * is protected by a raw spinlock with interrupts off, and it never re-enters
 * itself (a per-task recursion count), so the locks it uses internally and
 * the printk path must be raw.  NMI handlers must take no lockdep-tracked lock.
 */
#ifndef VIGIL_LOCKDEP_H
#define VIGIL_LOCKDEP_H

#include <vigil/types.h>

#define LOCKDEP_MAX_CLASSES    512
#define LOCKDEP_MAX_DEPS       4096
#define LOCKDEP_MAX_HELD       48
#define LOCKDEP_MAX_SUBCLASSES 4
#define LOCKDEP_MAX_VIOLATIONS 32   /* kept for the console; more are only counted */
#define LOCKDEP_SUMMARY_MAX    200  /* bytes per kept violation line */

/* "file.c:123": where a lock operation was written.  The lock macros pass it
 * so reports name source lines, not just return addresses. */
#define LOCKDEP_STR_(x) #x
#define LOCKDEP_STR(x) LOCKDEP_STR_(x)
#define LOCKDEP_SITE (__FILE__ ":" LOCKDEP_STR(__LINE__))
/* In a lock function: the address it returns to, i.e. in its caller. */
#define LOCKDEP_RET_IP ((uintptr_t)__builtin_return_address(0))

/* One per lock initialization site (static storage): its address is the
 * class identity; subkeys give the subclasses of the _nested variants. */
struct lock_class_key {
	char subkeys[LOCKDEP_MAX_SUBCLASSES];
};

/* Embedded in every lock. */
struct lockdep_map {
	const struct lock_class_key *key; /* NULL: a static lock, its own class */
	const char *name;                  /* for reports, e.g. "&vm->lock" */
	uint16_t class_cache;              /* 1 + class index of subclass 0; 0 = unknown */
};

#define LOCKDEP_MAP_INIT(lockname) { .key = NULL, .name = (lockname), .class_cache = 0 }

/* One entry of a task's held-lock stack. */
struct held_lock {
	struct lockdep_map *map;
	const char *site;    /* where it was acquired */
	uintptr_t ip;        /* return address into the acquirer */
	uint16_t class_idx;
	uint8_t read;
	uint8_t trylock;
};

/* Per-task lockdep state; zero-initialized is valid (lockdep_task_init). */
struct lockdep_task {
	struct held_lock held[LOCKDEP_MAX_HELD];
	unsigned depth;
	unsigned recursion;  /* >0 while lockdep itself runs for this task */
};

/*
 * Provided by the scheduler implementation (core/sched in the kernel,
 * tests/unit/host_sched.c on the host): the current task's lockdep state.
 * May return NULL before the first task exists; lockdep then ignores the
 * operation (so early boot must not hold locks across task creation).
 */
struct lockdep_task *lockdep_current(void);

void lockdep_task_init(struct lockdep_task *lt);
/* The task is exiting: report any lock it still holds ("held-at-exit"). */
void lockdep_task_exit(struct lockdep_task *lt);

/* Whether checking is on: lockdep= on the command line, and not switched off
 * after an internal table overflowed. */
bool lockdep_enabled(void);

/* (Re)initialize a map for a lock initialized at runtime. */
void lockdep_init_map(struct lockdep_map *map, const char *name, const struct lock_class_key *key);

/* Called by the lock implementations.  read: shared acquisition; trylock:
 * the acquisition did not block (call after it succeeded).  subclass <
 * LOCKDEP_MAX_SUBCLASSES. */
void lock_acquire(struct lockdep_map *map, unsigned subclass, bool read, bool trylock,
		  const char *site, uintptr_t ip);
void lock_release(struct lockdep_map *map, const char *site, uintptr_t ip);
/* A wait for every current holder of map to release it, without taking it
 * (SRCU's grace period): checked as a blocking acquisition immediately
 * released -- the recursion check (the task holds map, so it would wait for
 * itself) and the edges from every held lock -- but nothing stays on the
 * held stack.  The holders' side is a read acquisition with trylock set:
 * it never waits, so nothing is ordered before it. */
void lock_sync(struct lockdep_map *map, const char *site, uintptr_t ip);

/* Lock-specific debug checks report through lockdep (same list, same
 * counters): e.g. kind "unlock-not-owner" from mutex_unlock.  what is one
 * line of explanation. */
void lockdep_report_misuse(const char *kind, const struct lockdep_map *map, const char *site,
			   const char *what);

/* ---- context checks ---- */

/* "BUG: sleeping function called from invalid context": in interrupt, with
 * preemption or interrupts disabled.  Every primitive that can sleep calls
 * it on entry, before it knows whether it will have to wait. */
void __might_sleep(const char *site);
#define might_sleep() __might_sleep(LOCKDEP_SITE)

/* Is the lock (any struct with a dep_map) held by the current task, in any
 * mode?  true when lockdep is off (so assertions built on it stay quiet). */
bool lockdep_is_held_map(const struct lockdep_map *map);
#define lockdep_is_held(l) lockdep_is_held_map(&(l)->dep_map)

void lockdep_assert_held_at(const struct lockdep_map *map, const char *site);
void lockdep_assert_not_held_at(const struct lockdep_map *map, const char *site);
void lockdep_assert_irqs_disabled_at(const char *site);
void lockdep_assert_preemption_disabled_at(const char *site);

#define lockdep_assert_held(l)     lockdep_assert_held_at(&(l)->dep_map, LOCKDEP_SITE)
#define lockdep_assert_not_held(l) lockdep_assert_not_held_at(&(l)->dep_map, LOCKDEP_SITE)
#define lockdep_assert_irqs_disabled() lockdep_assert_irqs_disabled_at(LOCKDEP_SITE)
#define lockdep_assert_preemption_disabled() lockdep_assert_preemption_disabled_at(LOCKDEP_SITE)

/* Print the current task's held locks (for other reports). */
void lockdep_print_held_locks(void);

/* ---- planted bugs (selftests) ---- */

/* Between begin and end, reports are marked expected: printed, but counted
 * apart from violations and not kept in the violation list.  Inside the
 * window a cycle that was already reported is reported again when its
 * closing edge is used, so a planted cycle is seen on every run.  The window
 * is global: a genuine report from another CPU meanwhile is absorbed too.
 * end returns the number of reports made inside the window.  No nesting. */
void lockdep_expect_begin(void);
unsigned lockdep_expect_end(void);

/* ---- counters and the violation list (console `lockdep`) ---- */

struct lockdep_stats {
	unsigned classes;     /* lock classes registered */
	unsigned deps;        /* dependency edges */
	unsigned violations;  /* reports outside expect windows */
	unsigned expected;    /* reports inside expect windows, ever */
	unsigned kept;        /* violations in the list (<= LOCKDEP_MAX_VIOLATIONS) */
	bool enabled;
};

void lockdep_get_stats(struct lockdep_stats *st);

/* Copy violation i (0 <= i < kept) as one line of key=value tokens, e.g.
 * "violation=1 kind=cycle locks=A,B task=worker1 site=core/x.c:12";
 * false when there is no such entry. */
bool lockdep_violation_line(unsigned i, char *buf, size_t size);

#endif

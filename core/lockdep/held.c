/*
 * The per-task held-lock stack and the acquire/release hooks every lock
 * calls.  The stack belongs to the task (lockdep_current()), so it is only
 * ever touched by that task -- and by interrupt handlers on its CPU, which
 * nest properly and run with the task's interrupts off (we disable them too
 * while changing it).
 *
 * lock_acquire, for a blocking acquisition of class B:
 *   - B already held (not via a different subclass): recursive locking,
 *     reported once per class;
 *   - for every held lock A: the edge A -> B (graph.c checks for cycles);
 * then pushes B.  A trylock only pushes: it did not wait, so nothing can
 * have waited on it in a deadlock.
 *
 * lock_sync (SRCU's grace period: a wait for every holder of the map) runs
 * the checks of a blocking acquisition and pushes nothing.
 *
 * lock_release pops the entry for the map wherever it is in the stack (locks
 * may be released out of order); releasing a lock the task does not hold is
 * reported.
 */
#include <vigil/arch.h>
#include <vigil/lockdep.h>
#include <vigil/printk.h>
#include <vigil/sched.h>

#include "lockdep_internal.h"

void lockdep_task_init(struct lockdep_task *lt)
{
	lt->depth = 0;
	lt->recursion = 0;
}

void lockdep_print_held(const struct lockdep_task *lt)
{
	if (!lt->depth) {
		printk(LD_PREFIX "  (no locks held)\n");
		return;
	}
	for (unsigned i = 0; i < lt->depth; i++) {
		const struct held_lock *h = &lt->held[i];
		printk(LD_PREFIX "  #%u: %s%s%s at %s (ip %#lx)\n", i, lockdep_class_name(h->class_idx),
		       h->read ? " (read)" : "", h->trylock ? " (trylock)" : "",
		       h->site ? h->site : "?", (unsigned long)h->ip);
	}
}

void lockdep_print_held_locks(void)
{
	struct lockdep_task *lt = lockdep_current();

	if (lt)
		lockdep_print_held(lt);
}

/* Enter lockdep for the current task: NULL when checking is off, there is
 * no task yet, or lockdep is already running for this task (a lock taken by
 * lockdep's own output path must not recurse into it). */
static struct lockdep_task *enter(unsigned long *flags)
{
	if (!lockdep_enabled())
		return NULL;
	struct lockdep_task *lt = lockdep_current();
	if (!lt || lt->recursion)
		return NULL;
	*flags = arch_irq_save();
	lt->recursion++;
	return lt;
}

static void leave(struct lockdep_task *lt, unsigned long flags)
{
	lt->recursion--;
	arch_irq_restore(flags);
}

static void report_recursion(struct lockdep_task *lt, const struct held_lock *prev,
			     const struct held_lock *next, bool sync)
{
	char who[64];
	unsigned long flags = lockdep_graph_lock();
	struct lock_class *c = &lockdep_classes[next->class_idx];

	if (c->recursion_reported && !lockdep_expecting())
		goto out;
	c->recursion_reported = true;
	lockdep_describe_current(who, sizeof(who));
	lockdep_report_begin("WARNING: possible recursive locking detected");
	printk(LD_PREFIX "task %s is %s %s%s at %s (ip %#lx)\n", who,
	       sync ? "waiting for a grace period of" : "trying to acquire",
	       lockdep_class_name(next->class_idx), next->read ? " (read)" : "",
	       next->site ? next->site : "?", (unsigned long)next->ip);
	printk(LD_PREFIX "but it already holds a lock of the same class%s, taken at %s\n",
	       prev->map == next->map ? " (the same lock)" : "", prev->site ? prev->site : "?");
	if (prev->read && next->read)
		/* Readers share, so this looks harmless; but the primitives
		 * are fair (rwsem.h): a writer queued between the two read
		 * acquisitions makes the second wait behind the writer, and
		 * the writer waits for the first. */
		printk(LD_PREFIX "recursive read: a writer queued between the two read acquisitions "
		       "waits for the first and blocks the second\n");
	printk(LD_PREFIX "held locks:\n");
	lockdep_print_held(lt);
	if (sync)
		printk(LD_PREFIX "possible deadlock: a grace period waits for every read section "
		       "of its class to end, this task's own included: it waits for itself\n");
	else
		printk(LD_PREFIX "possible deadlock: the task waits for itself (for nesting two "
		       "locks of one class on purpose, use a _nested variant with a subclass)\n");
	uint16_t cls = next->class_idx;
	lockdep_report_end("recursive", &cls, 1, next->site);
out:
	lockdep_graph_unlock(flags);
}

/* push: keep the lock on the held stack (false for lock_sync). */
static void acquire(struct lockdep_map *map, unsigned subclass, bool read, bool trylock,
		    const char *site, uintptr_t ip, bool push)
{
	unsigned long flags;
	struct lockdep_task *lt = enter(&flags);

	if (!lt)
		return;
	int cls = lockdep_class_of(map, subclass);
	if (cls < 0)
		goto out;
	if (lt->depth >= LOCKDEP_MAX_HELD) {
		lockdep_turn_off("too many locks held by one task (LOCKDEP_MAX_HELD)");
		goto out;
	}
	struct held_lock *next = &lt->held[lt->depth];
	next->map = map;
	next->site = site;
	next->ip = ip;
	next->class_idx = (uint16_t)cls;
	next->read = read;
	next->trylock = trylock;

	if (!trylock) {
		bool reported = false;
		for (unsigned i = 0; i < lt->depth; i++) {
			if (lt->held[i].class_idx == cls) {
				report_recursion(lt, &lt->held[i], next, !push);
				break;
			}
		}
		for (unsigned i = 0; i < lt->depth && lockdep_enabled(); i++) {
			if (lt->held[i].class_idx != cls)
				lockdep_add_dep(lt, &lt->held[i], next, &reported);
		}
	}
	if (push)
		lt->depth++;
out:
	leave(lt, flags);
}

void lock_acquire(struct lockdep_map *map, unsigned subclass, bool read, bool trylock,
		  const char *site, uintptr_t ip)
{
	acquire(map, subclass, read, trylock, site, ip, true);
}

void lock_sync(struct lockdep_map *map, const char *site, uintptr_t ip)
{
	acquire(map, 0, false, false, site, ip, false);
}

static int find_held(const struct lockdep_task *lt, const struct lockdep_map *map)
{
	for (int i = (int)lt->depth - 1; i >= 0; i--) {
		if (lt->held[i].map == map)
			return i;
	}
	return -1;
}

static void report_bad_release(struct lockdep_task *lt, const struct lockdep_map *map,
			       const char *site, uintptr_t ip)
{
	char who[64];
	unsigned long flags = lockdep_graph_lock();

	if (lockdep_site_first("bad-unlock", site)) {
		uint16_t cache = __atomic_load_n(&map->class_cache, __ATOMIC_ACQUIRE);
		uint16_t cls = cache ? (uint16_t)(cache - 1) : 0;

		lockdep_describe_current(who, sizeof(who));
		lockdep_report_begin("WARNING: bad unlock balance detected");
		printk(LD_PREFIX "task %s is trying to release %s at %s (ip %#lx)\n", who,
		       map->name ? map->name : "?", site ? site : "?", (unsigned long)ip);
		printk(LD_PREFIX "but there are no more locks to release: it does not hold it\n");
		printk(LD_PREFIX "held locks:\n");
		lockdep_print_held(lt);
		lockdep_report_end("bad-unlock", &cls, cache ? 1 : 0, site);
	}
	lockdep_graph_unlock(flags);
}

void lock_release(struct lockdep_map *map, const char *site, uintptr_t ip)
{
	unsigned long flags;
	struct lockdep_task *lt = enter(&flags);

	if (!lt)
		return;
	int i = find_held(lt, map);
	if (i < 0) {
		report_bad_release(lt, map, site, ip);
	} else {
		for (unsigned j = (unsigned)i; j + 1 < lt->depth; j++)
			lt->held[j] = lt->held[j + 1];
		lt->depth--;
	}
	leave(lt, flags);
}

bool lockdep_is_held_map(const struct lockdep_map *map)
{
	struct lockdep_task *lt = lockdep_current();

	if (!lockdep_enabled() || !lt)
		return true;
	return find_held(lt, map) >= 0;
}

static void report_assert(const char *kind, const char *title, const struct lockdep_map *map,
			  const char *site)
{
	unsigned long flags;
	struct lockdep_task *lt = enter(&flags);

	if (!lt)
		return;
	char who[64];
	unsigned long gflags = lockdep_graph_lock();
	if (lockdep_site_first(kind, site)) {
		uint16_t cache = __atomic_load_n(&map->class_cache, __ATOMIC_ACQUIRE);
		uint16_t cls = cache ? (uint16_t)(cache - 1) : 0;

		lockdep_describe_current(who, sizeof(who));
		lockdep_report_begin(title);
		printk(LD_PREFIX "lock %s, checked at %s by task %s\n", map->name ? map->name : "?",
		       site ? site : "?", who);
		printk(LD_PREFIX "held locks:\n");
		lockdep_print_held(lt);
		lockdep_report_end(kind, &cls, cache ? 1 : 0, site);
	}
	lockdep_graph_unlock(gflags);
	leave(lt, flags);
}

void lockdep_assert_held_at(const struct lockdep_map *map, const char *site)
{
	struct lockdep_task *lt = lockdep_current();

	if (!lockdep_enabled() || !lt || lt->recursion || find_held(lt, map) >= 0)
		return;
	report_assert("assert-held", "WARNING: lockdep_assert_held failed: lock not held", map,
		      site);
}

void lockdep_assert_not_held_at(const struct lockdep_map *map, const char *site)
{
	struct lockdep_task *lt = lockdep_current();

	if (!lockdep_enabled() || !lt || lt->recursion || find_held(lt, map) < 0)
		return;
	report_assert("assert-not-held",
		      "WARNING: lockdep_assert_not_held failed: lock held", map, site);
}

void lockdep_task_exit(struct lockdep_task *lt)
{
	if (!lockdep_enabled() || !lt->depth)
		return;
	char who[64];
	unsigned long flags = lockdep_graph_lock();
	uint16_t cls[8];
	unsigned n = 0;

	for (unsigned i = 0; i < lt->depth && n < ARRAY_SIZE(cls); i++)
		cls[n++] = lt->held[i].class_idx;
	lockdep_describe_current(who, sizeof(who));
	lockdep_report_begin("WARNING: task exiting with locks held");
	printk(LD_PREFIX "task %s exits holding %u lock(s):\n", who, lt->depth);
	lockdep_print_held(lt);
	lockdep_report_end("held-at-exit", cls, n, lt->held[0].site);
	lockdep_graph_unlock(flags);
	lt->depth = 0;
}

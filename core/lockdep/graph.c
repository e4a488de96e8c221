/*
 * The dependency graph.  Nodes are lock classes; the edge A -> B means "B was
 * acquired while A was held" (so whoever holds B and waits for A can deadlock
 * with whoever holds A and waits for B).  Each class keeps a singly linked
 * list of its outgoing edges, newest first.
 *
 * Cost: an acquisition checks, for each held lock, whether its edge to the
 * new lock exists -- a lock-free walk of the held class's list (edges are
 * never removed and are published with a release store, after their fields
 * are written).  Only a new edge takes graph_lock, and only then is the graph
 * searched: breadth-first from B for a path back to A, bounded by the class
 * count.  A path means the new edge closes a cycle.  The edge is added anyway
 * so the same ordering is reported once, not on every acquisition.
 *
 * The report shows both chains of the cycle:
 *   - the new one: this task, its held locks (sites where each was taken),
 *     and the lock it is trying to take now;
 *   - the existing one: B -> ... -> A, each edge with the task, CPU and
 *     sites of the acquisition that first recorded it.
 */
#include <vigil/atomic.h>
#include <vigil/lockdep.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/string.h>

#include "lockdep_internal.h"

struct lock_dep lockdep_deps[LOCKDEP_MAX_DEPS];
static unsigned nr_deps;

/* Breadth-first search state, under graph_lock. */
static uint16_t bfs_queue[LOCKDEP_MAX_CLASSES];
static uint32_t bfs_via[LOCKDEP_MAX_CLASSES];   /* 1 + edge that reached the class */
static uint32_t bfs_seen[LOCKDEP_MAX_CLASSES];  /* == bfs_gen: visited this search */
static uint32_t bfs_gen;

unsigned lockdep_nr_deps(void)
{
	return __atomic_load_n(&nr_deps, __ATOMIC_ACQUIRE);
}

/* The edge from -> to, or -1.  Lock-free. */
static int find_dep(unsigned from, unsigned to)
{
	uint32_t e = __atomic_load_n(&lockdep_classes[from].first_out, __ATOMIC_ACQUIRE);

	while (e) {
		const struct lock_dep *d = &lockdep_deps[e - 1];
		if (d->to == to)
			return (int)(e - 1);
		e = d->next_out;
	}
	return -1;
}

/*
 * Is there a path src -> ... -> dst?  Fills path[] with the edge indexes in
 * order and returns their number, or 0.  Under graph_lock.
 */
static unsigned find_path(unsigned src, unsigned dst, uint32_t *path, unsigned max)
{
	unsigned head = 0, tail = 0;

	if (++bfs_gen == 0) {
		memset(bfs_seen, 0, sizeof(bfs_seen));
		bfs_gen = 1;
	}
	bfs_seen[src] = bfs_gen;
	bfs_via[src] = 0;
	bfs_queue[tail++] = (uint16_t)src;
	while (head < tail) {
		unsigned c = bfs_queue[head++];
		if (c == dst) {
			/* Walk back along the edges that reached dst. */
			unsigned n = 0;
			for (unsigned x = dst; bfs_via[x]; x = lockdep_deps[bfs_via[x] - 1].from)
				n++;
			if (n > max)
				return 0;
			unsigned i = n;
			for (unsigned x = dst; bfs_via[x]; x = lockdep_deps[bfs_via[x] - 1].from)
				path[--i] = bfs_via[x] - 1;
			return n;
		}
		for (uint32_t e = lockdep_classes[c].first_out; e; e = lockdep_deps[e - 1].next_out) {
			unsigned to = lockdep_deps[e - 1].to;
			if (bfs_seen[to] == bfs_gen)
				continue;
			bfs_seen[to] = bfs_gen;
			bfs_via[to] = e;
			bfs_queue[tail++] = (uint16_t)to;
		}
	}
	return 0;
}

static void print_edge(const struct lock_dep *d)
{
	printk(LD_PREFIX "  %s -> %s: first seen in %s/%u on cpu %u, which took %s at %s\n",
	       lockdep_class_name(d->from), lockdep_class_name(d->to), d->task, d->task_id, d->cpu,
	       lockdep_class_name(d->to), d->to_site ? d->to_site : "?");
	printk(LD_PREFIX "      while holding %s (taken at %s)\n", lockdep_class_name(d->from),
	       d->from_site ? d->from_site : "?");
}

/* Under graph_lock.  held -> next is the new edge; path is next -> ... -> held. */
static void report_cycle(const struct lockdep_task *lt, const struct held_lock *held,
			 const struct held_lock *next, const uint32_t *path, unsigned n)
{
	const char *a = lockdep_class_name(held->class_idx);
	const char *b = lockdep_class_name(next->class_idx);
	char who[64];

	lockdep_describe_current(who, sizeof(who));
	lockdep_report_begin("WARNING: possible circular locking dependency detected");
	printk(LD_PREFIX "task %s is trying to acquire %s%s at %s (ip %#lx)\n", who, b,
	       next->read ? " (read)" : "", next->site ? next->site : "?", (unsigned long)next->ip);
	printk(LD_PREFIX "while holding:\n");
	lockdep_print_held(lt);
	printk(LD_PREFIX "new dependency: %s -> %s\n", a, b);
	printk(LD_PREFIX "existing dependency chain %s -> ... -> %s "
	       "(each lock held while the next was taken):\n", b, a);
	for (unsigned i = 0; i < n; i++)
		print_edge(&lockdep_deps[path[i]]);
	if (n == 1) {
		printk(LD_PREFIX "possible deadlock:\n");
		printk(LD_PREFIX "  this task:  holds %s, waits for %s\n", a, b);
		printk(LD_PREFIX "  other task: holds %s, waits for %s\n", b, a);
	} else {
		printk(LD_PREFIX "possible deadlock: %u tasks, each holding one lock of the cycle "
		       "and waiting for the next\n", n + 1);
	}

	/* The cycle's locks, starting with the held one: A, B, ..., */
	uint16_t locks[LOCKDEP_MAX_CLASSES < 16 ? LOCKDEP_MAX_CLASSES : 16];
	unsigned nl = 0;
	locks[nl++] = held->class_idx;
	for (unsigned i = 0; i < n && nl < ARRAY_SIZE(locks); i++)
		locks[nl++] = lockdep_deps[path[i]].from;
	lockdep_report_end("cycle", locks, nl, next->site);
}

/* Under graph_lock: append the edge from -> to (caller checked it is new). */
static int add_edge(const struct held_lock *held, const struct held_lock *next)
{
	if (nr_deps >= LOCKDEP_MAX_DEPS) {
		lockdep_turn_off("too many lock dependencies (LOCKDEP_MAX_DEPS)");
		return -1;
	}
	unsigned idx = nr_deps;
	struct lock_dep *d = &lockdep_deps[idx];
	struct lock_class *from = &lockdep_classes[held->class_idx];
	struct task *t = current_task();

	d->from = held->class_idx;
	d->to = next->class_idx;
	d->next_out = from->first_out;
	d->closes_cycle = false;
	d->from_site = held->site;
	d->to_site = next->site;
	strlcpy(d->task, t ? task_name(t) : "(no task)", sizeof(d->task));
	d->task_id = t ? task_id(t) : 0;
	d->cpu = smp_processor_id();
	__atomic_store_n(&nr_deps, nr_deps + 1, __ATOMIC_RELEASE);
	/* Publish: the fields above are visible to whoever sees the edge. */
	__atomic_store_n(&from->first_out, idx + 1, __ATOMIC_RELEASE);
	return (int)idx;
}

static bool closes_cycle(int e)
{
	return __atomic_load_n(&lockdep_deps[e].closes_cycle, __ATOMIC_RELAXED);
}

void lockdep_add_dep(const struct lockdep_task *lt, const struct held_lock *held,
		     const struct held_lock *next, bool *reported)
{
	unsigned a = held->class_idx, b = next->class_idx;
	int e = find_dep(a, b);

	/* Known edge: nothing to do, unless a self-test is replaying a cycle. */
	if (e >= 0 && !(closes_cycle(e) && lockdep_expecting() && !*reported))
		return;

	static uint32_t path[LOCKDEP_MAX_CLASSES];   /* under graph_lock */
	unsigned long flags = lockdep_graph_lock();
	e = find_dep(a, b);
	if (e < 0) {
		unsigned n = *reported ? 0 : find_path(b, a, path, ARRAY_SIZE(path));
		e = add_edge(held, next);
		if (n) {
			report_cycle(lt, held, next, path, n);
			*reported = true;
			if (e >= 0)
				__atomic_store_n(&lockdep_deps[e].closes_cycle, true, __ATOMIC_RELAXED);
		}
	} else if (closes_cycle(e) && lockdep_expecting() && !*reported) {
		unsigned n = find_path(b, a, path, ARRAY_SIZE(path));
		if (n) {
			report_cycle(lt, held, next, path, n);
			*reported = true;
		}
	}
	lockdep_graph_unlock(flags);
}

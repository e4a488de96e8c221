/*
 * Lockdep's internal interfaces, shared by the files of core/lockdep/:
 *   classes.c   class registration (key -> class), the class table
 *   graph.c     dependency edges, the cycle search and its report
 *   held.c      lock_acquire/lock_release and the per-task held stack
 *   context.c   might_sleep and the context assertions
 *   report.c    report framing, counters, the violation list, expect windows
 *
 * Everything that changes shared state does so under graph_lock (raw, with
 * interrupts off).  Lock-free readers: the class table and edge lists are
 * append-only and published with release stores.
 */
#ifndef CORE_LOCKDEP_INTERNAL_H
#define CORE_LOCKDEP_INTERNAL_H

#include <vigil/lockdep.h>
#include <vigil/types.h>

#define LD_PREFIX "lockdep: "

struct lock_class {
	const void *key;        /* identity: &key->subkeys[subclass], or the static map */
	const char *name;       /* of the first lock seen in the class */
	unsigned subclass;
	uint32_t first_out;     /* 1 + index of the newest outgoing edge; 0 = none */
	bool recursion_reported;
};

struct lock_dep {
	uint16_t from, to;      /* class indexes: `from` was held when `to` was taken */
	uint32_t next_out;      /* 1 + index of from's next (older) edge; 0 = end */
	bool closes_cycle;      /* adding it closed a cycle (re-reported in expect windows) */
	/* Where the edge was first seen. */
	const char *from_site, *to_site;
	char task[24];
	unsigned task_id, cpu;
};

extern struct lock_class lockdep_classes[LOCKDEP_MAX_CLASSES];
extern struct lock_dep lockdep_deps[LOCKDEP_MAX_DEPS];

/* ---- report.c ---- */
unsigned long lockdep_graph_lock(void);
void lockdep_graph_unlock(unsigned long flags);
/* An internal table is full: print why and stop checking for good. */
void lockdep_turn_off(const char *why);
bool lockdep_expecting(void);
/* Dedupe reports that are tied to a source line (once per kind and site;
 * always true inside an expect window).  Under graph_lock. */
bool lockdep_site_first(const char *kind, const char *site);
/* Frame a report (under graph_lock): begin prints the banner and title;
 * end prints the closing banner, counts the report and, unless expected,
 * keeps "violation=<n> kind=<kind> locks=<a,b..> task=<t> site=<s>". */
void lockdep_report_begin(const char *title);
void lockdep_report_end(const char *kind, const uint16_t *classes, unsigned nclasses,
			const char *site);
/* The current task as "<name>/<id> on cpu <n>" (for report text). */
void lockdep_describe_current(char *buf, size_t size);

/* ---- classes.c ---- */
/* The class of map at subclass (registering it on first sight); -1 when
 * the class table is full (lockdep is then off). */
int lockdep_class_of(struct lockdep_map *map, unsigned subclass);
unsigned lockdep_nr_classes(void);
const char *lockdep_class_name(unsigned idx);

/* ---- graph.c ---- */
/* Record that `held` was held while `next` (class next_class) was taken;
 * report a cycle if the edge is new and closes one (or, inside an expect
 * window, if it exists and once closed one).  *reported is set when a cycle
 * was reported; once set, later edges of the same acquisition are added
 * without a second report.  lt is the acquiring task (for the report). */
void lockdep_add_dep(const struct lockdep_task *lt, const struct held_lock *held,
		     const struct held_lock *next, bool *reported);
unsigned lockdep_nr_deps(void);

/* ---- held.c ---- */
/* Print lt's held locks, one line each (under graph_lock or not). */
void lockdep_print_held(const struct lockdep_task *lt);

#endif

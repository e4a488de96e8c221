/*
 * Fault injection.  A point is declared where the fault would happen, with
 * INJECT_POINT(name, "what it does"); the code there asks
 * inject_hit(&inject_<name>, cpu) and, when it answers true, behaves as if
 * the fault were real (and says "(injected)" in its message).
 *
 * `inject <name> [cpu=<n>] [count=<k>]` arms a point: on CPU n only (or any
 * CPU), for the next k hits (default 1; 0 = until cleared).
 * `inject list` shows the points and their state; `inject clear` disarms all.
 */
#ifndef VIGIL_INJECT_H
#define VIGIL_INJECT_H
#include <vigil/types.h>

#define INJECT_ANY_CPU (-1)

struct inject_point {
	const char *name;
	const char *what;
	/* state (changed by the console and by hits) */
	volatile int armed;        /* 0/1 */
	volatile int cpu;          /* INJECT_ANY_CPU or a CPU */
	volatile int64_t remaining;/* hits left; 0 with armed = unlimited */
	volatile uint64_t hits;    /* faults injected so far */
};

/* The point's console name is its identifier, stringified. */
#define INJECT_POINT(pname, pwhat) \
	struct inject_point inject_##pname \
	__attribute__((used, section("inject_points"), aligned(8))) = { .name = #pname, .what = (pwhat) }
#define INJECT_DECLARE(ident) extern struct inject_point inject_##ident

/* true: inject the fault now (on this cpu). */
bool inject_hit(struct inject_point *p, unsigned cpu);
void inject_clear_all(void);
struct inject_point *inject_find(const char *name);
/* The first armed point, or NULL when none is. */
const struct inject_point *inject_first_armed(void);

/* Self-tests: arm p for exactly one hit on this cpu and get its previous
 * state back, to hand to inject_restore() once the code under test ran (so
 * a point the console armed is left as the console armed it). */
struct inject_point inject_arm_once(struct inject_point *p, unsigned cpu);
void inject_restore(struct inject_point *p, const struct inject_point *old);
#endif

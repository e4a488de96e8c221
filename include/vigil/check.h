/*
 * System invariants, checked by the `check` console command (and later after
 * every stress step).  Each subsystem registers a checker with
 * INVARIANT(name, fn); fn returns 0, or -1 and writes why it failed, or 1
 * when the invariant holds only through a known, reported degraded state
 * (why: what it is, as console tokens, e.g. "cpu=0 reason=...").
 */
#ifndef VIGIL_CHECK_H
#define VIGIL_CHECK_H
#include <vigil/types.h>

struct invariant {
	const char *name;
	int (*check)(char *why, size_t len);
};
#define INVARIANT(ident, fn) \
	static const struct invariant invariant_##ident \
	__attribute__((used, section("invariants"), aligned(8))) = { #ident, fn }

/* Run every checker; 0 when all hold (degraded states included), else the
 * first failure as "<name>: <why>". */
int invariants_check(char *why, size_t len);
/* The same, and note(name, what, arg) for each known degraded state. */
int invariants_check_noted(char *why, size_t len, void (*note)(const char *name, const char *what, void *arg),
			   void *arg);
#endif

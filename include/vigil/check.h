/*
 * System invariants, checked by the `check` console command (and later after
 * every stress step).  Each subsystem registers a checker with
 * INVARIANT(name, fn); fn returns 0 or writes why it failed.
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

/* Run every checker; 0 when all hold, else the first failure as
 * "<name>: <why>". */
int invariants_check(char *why, size_t len);
#endif

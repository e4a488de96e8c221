/*
 * In-kernel self-tests.  Each registers with SELFTEST(name, fn); fn returns
 * 0 on success or -1 after writing why into the report buffer with
 * st_fail().  `selftest [all|<name>]` runs them and prints KTAP version 1;
 * selftest=<name>|all on the command line runs them at boot.
 */
#ifndef VIGIL_SELFTEST_H
#define VIGIL_SELFTEST_H
#include <vigil/types.h>

struct selftest_ctx;
struct selftest {
	const char *name;
	int (*run)(struct selftest_ctx *ctx);
};
#define SELFTEST(ident, fn) \
	static const struct selftest selftest_##ident \
	__attribute__((used, section("selftests"), aligned(8))) = { #ident, fn }

/* Record the failure reason (first one wins) and return -1. */
__printf(2, 3) int st_fail(struct selftest_ctx *ctx, const char *fmt, ...);
/* A KTAP diagnostic line ("# ...") in the test's output. */
__printf(2, 3) void st_note(struct selftest_ctx *ctx, const char *fmt, ...);

/* Nothing to test in this configuration (one CPU, no backend...): say
 * so in a note and pass. */
#define st_skip(ctx, ...) (st_note(ctx, "skipped: " __VA_ARGS__), 0)
#define ST_ASSERT(ctx, cond, ...) do { if (!(cond)) return st_fail(ctx, __VA_ARGS__); } while (0)

/* Run the tests matching name ("all" for every one); returns failures. */
int selftest_run(const char *name, void (*out)(const char *line, void *arg), void *arg, int *ran);
/* Run the boot self-tests named by the selftest= parameter (spec). */
void selftest_boot(const char *spec);
#endif

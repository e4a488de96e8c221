/*
 * Benchmarks: each registers with BENCH(name, unit, fn); fn fills up to
 * max samples and returns how many it took.  `bench [all|<name>]` prints
 * bench=<name> median=<v> min=<v> max=<v> unit=<u> samples=<k>.
 * Figures are printed, never asserted: emulated time is noisy.
 */
#ifndef VIGIL_BENCH_H
#define VIGIL_BENCH_H
#include <vigil/types.h>

struct bench {
	const char *name;
	const char *unit;
	unsigned (*run)(uint64_t *samples, unsigned max);
};
#define BENCH(ident, unit_str, fn) \
	static const struct bench bench_desc_##ident \
	__attribute__((used, section("benches"), aligned(8))) = { #ident, unit_str, fn }
#define BENCH_MAX_SAMPLES 64
#endif

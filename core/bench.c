/* The `bench` console command: runs registered benchmarks, prints medians. */
#include <vigil/bench.h>
#include <vigil/console_input.h>
#include <vigil/shell.h>
#include <vigil/string.h>

extern const struct bench __start_benches[], __stop_benches[];

static void sort_u64(uint64_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		uint64_t x = v[i];
		unsigned j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static int cmd_bench(struct shell_ctx *ctx, int argc, char **argv)
{
	const char *name = argc == 2 ? argv[1] : "all";
	bool any = false;
	for (const struct bench *b = __start_benches; b < __stop_benches; b++) {
		if (strcmp(name, "all") && strcmp(name, b->name))
			continue;
		any = true;
		if (console_interrupted())
			return shell_error(ctx, "interrupted (Ctrl-C) before bench %s", b->name);
		uint64_t samples[BENCH_MAX_SAMPLES];
		unsigned n = b->run(samples, BENCH_MAX_SAMPLES);
		if (n == 0) {
			shell_printf(ctx, "bench=%s skipped=1\n", b->name);
			continue;
		}
		sort_u64(samples, n);
		uint64_t median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
		shell_printf(ctx, "bench=%s median=%lu min=%lu max=%lu unit=%s samples=%u\n", b->name,
			     (unsigned long)median, (unsigned long)samples[0], (unsigned long)samples[n - 1], b->unit, n);
	}
	if (!any)
		return shell_error(ctx, "no benchmark named '%s'", name);
	return 0;
}
SHELL_CMD(bench, "bench [all|<name>]", .run = cmd_bench, .max_args = 1);

/* Self-tests and benchmarks of cross-CPU calls and NMIs. */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/cpu.h>
#include <vigil/inject.h>
#include <vigil/selftest.h>
#include <vigil/smp.h>
#include <vigil/task.h>

static volatile unsigned hits[CONFIG_MAX_CPUS];
static volatile unsigned irq_ctx[CONFIG_MAX_CPUS];

INJECT_POINT(smp_hit_slow,
	     "the cross-CPU call self-tests' callback pauses 50 ms on the CPU between its two records");

static void pause_if_injected(unsigned c)
{
	if (!inject_hit(&inject_smp_hit_slow, c))
		return;
	uint64_t end = arch_time_ns() + 50000000ULL;
	while (arch_time_ns() < end)
		arch_cpu_relax();
}

/*
 * The context is recorded first and the hit published last (release), so a
 * reader that sees the hit (acquire) sees its context too: the non-waiting
 * half checks as soon as every hit is in, and once read the hit before the
 * context, reporting "ran it with interrupts on" for a callback that had not
 * finished recording (smp_hit_slow widens that window).
 */
static void count_hit(void *arg)
{
	(void)arg;
	unsigned c = smp_processor_id();
	if (!arch_irqs_enabled())
		__atomic_add_fetch(&irq_ctx[c], 1, __ATOMIC_RELAXED);
	pause_if_injected(c);
	__atomic_add_fetch(&hits[c], 1, __ATOMIC_RELEASE);
}

static unsigned hits_of(unsigned c)
{
	return __atomic_load_n(&hits[c], __ATOMIC_ACQUIRE);
}

static void clear_hits(void)
{
	for (unsigned c = 0; c < CONFIG_MAX_CPUS; c++)
		hits[c] = irq_ctx[c] = 0;
}

static int check_exactly_online(struct selftest_ctx *ctx, unsigned times)
{
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		unsigned want = cpu_is_online(c) ? times : 0;
		unsigned got = hits_of(c);
		ST_ASSERT(ctx, got == want, "CPU %u (%s) ran the function %u times, expected %u", c,
			  cpu_state_name(cpu_table[c].state), got, want);
		ST_ASSERT(ctx, irq_ctx[c] == got, "CPU %u ran it with interrupts on", c);
	}
	return 0;
}

static int test_on_each_cpu(struct selftest_ctx *ctx)
{
	clear_hits();
	for (int i = 0; i < 10; i++)
		on_each_cpu(count_hit, NULL, true);
	if (check_exactly_online(ctx, 10))
		return -1;
	/* Not waiting: every CPU still runs it exactly once, eventually. */
	clear_hits();
	if (on_each_cpu(count_hit, NULL, false) != 0) {
		/* No memory for the entries (inject on_each_cpu_nomem): then no
		 * CPU may run it, not even a few. */
		sleep_ns(50000000ULL);
		for (unsigned c = 0; c < nr_possible_cpus; c++)
			ST_ASSERT(ctx, hits_of(c) == 0, "on_each_cpu failed, yet CPU %u ran it", c);
		return 0;
	}
	uint64_t deadline = arch_time_ns() + 2000000000ULL;
	unsigned online = cpu_count_in_state(CPU_ONLINE);
	for (;;) {
		unsigned total = 0;
		for (unsigned c = 0; c < nr_possible_cpus; c++)
			total += hits_of(c);
		if (total >= online || arch_time_ns() > deadline)
			break;
		yield();
	}
	return check_exactly_online(ctx, 1);
}
SELFTEST(smp_on_each_cpu, test_on_each_cpu);

static int test_call_single(struct selftest_ctx *ctx)
{
	clear_hits();
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		int r = smp_call_function_single(c, count_hit, NULL, true);
		ST_ASSERT(ctx, (r == 0) == cpu_is_online(c), "call to CPU %u returned %d (state %s)", c, r,
			  cpu_state_name(cpu_table[c].state));
	}
	return check_exactly_online(ctx, 1);
}
SELFTEST(smp_call_single, test_call_single);

static int test_nmi(struct selftest_ctx *ctx)
{
	/* Static: 8 bytes per possible CPU is too big for a task stack (the
	 * self-tests run one at a time, from the console). */
	static uint64_t before[CONFIG_MAX_CPUS];
	preempt_disable();
	unsigned self = smp_processor_id();
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		before[c] = nmi_count[c];
		if (c != self && cpu_is_online(c))
			arch_send_nmi(c);
	}
	preempt_enable();
	uint64_t deadline = arch_time_ns() + 2000000000ULL;
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		if (c == self || !cpu_is_online(c))
			continue;
		while (nmi_count[c] == before[c] && arch_time_ns() < deadline)
			arch_cpu_relax();
		ST_ASSERT(ctx, nmi_count[c] > before[c], "CPU %u took no NMI", c);
	}
	return 0;
}
SELFTEST(smp_nmi, test_nmi);

static void nop(void *arg)
{
	(void)arg;
}

/* Round trip of a waiting cross-CPU call: IPI out, handler, completion seen. */
static unsigned bench_ipi_roundtrip(uint64_t *samples, unsigned max)
{
	unsigned target = nr_possible_cpus;
	for (unsigned c = 1; c < nr_possible_cpus; c++)
		if (cpu_is_online(c)) {
			target = c;
			break;
		}
	if (target == nr_possible_cpus)
		return 0;
	/* From the boot CPU: the console task is unbound, and a call to the
	 * CPU it happens to run on is a plain function call (it once reported
	 * 280 ns that way). */
	int old_bound = sched_pin_current(0);
	unsigned n = 0;
	for (unsigned i = 0; i < max; i++) {
		uint64_t t0 = arch_time_ns();
		if (smp_call_function_single(target, nop, NULL, true) != 0)
			break;
		samples[n++] = arch_time_ns() - t0;
	}
	sched_bind_current(old_bound);
	return n;
}
BENCH(ipi_roundtrip, "ns", bench_ipi_roundtrip);

static unsigned bench_on_each_cpu(uint64_t *samples, unsigned max)
{
	for (unsigned i = 0; i < max; i++) {
		uint64_t t0 = arch_time_ns();
		on_each_cpu(nop, NULL, true);
		samples[i] = arch_time_ns() - t0;
	}
	return max;
}
BENCH(on_each_cpu, "ns", bench_on_each_cpu);

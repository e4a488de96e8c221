/* Benches: taking the last CPU offline and bringing it back, with one VM
 * present (so the ONLINE step disables and re-enables virtualization). */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/virt.h>

#define HP_BENCH_ROUNDS 8

unsigned cpuhp_bench_cycles(unsigned cpu, unsigned rounds, uint64_t *samples, unsigned max, bool measure_down)
{
	char why[WHY_MAX];
	unsigned n = 0;
	for (; n < max && n < rounds; n++) {
		uint64_t t0 = arch_time_ns();
		if (cpu_down(cpu, why, sizeof(why)) != 0)
			break;
		uint64_t t1 = arch_time_ns();
		if (cpu_up(cpu, why, sizeof(why)) != 0)
			break;
		uint64_t t2 = arch_time_ns();
		samples[n] = (measure_down ? t1 - t0 : t2 - t1) / 1000;
	}
	return n;
}

static unsigned hp_bench(uint64_t *samples, unsigned max, bool measure_down)
{
	unsigned cpu = nr_possible_cpus - 1;
	if (cpu == 0 || !cpu_is_online(cpu))
		return 0;
	unsigned id;
	char why[WHY_MAX];
	bool vm = vm_create(&id, why, sizeof(why)) == 0; /* without a backend: plain hotplug */
	unsigned n = cpuhp_bench_cycles(cpu, HP_BENCH_ROUNDS, samples, max, measure_down);
	if (vm)
		vm_destroy(id, why, sizeof(why));
	return n;
}

static unsigned bench_cpu_offline(uint64_t *samples, unsigned max)
{
	return hp_bench(samples, max, true);
}

static unsigned bench_cpu_online(uint64_t *samples, unsigned max)
{
	return hp_bench(samples, max, false);
}
BENCH(cpu_offline, "us", bench_cpu_offline);
BENCH(cpu_online, "us", bench_cpu_online);

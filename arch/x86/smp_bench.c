/* Boot-time figures of the SMP bring-up, reported through `bench`. */
#include <asm/smp.h>
#include <vigil/bench.h>

/* One sample: the time from the first INIT to the last AP checking in. */
static unsigned bench_ap_bringup(uint64_t *samples, unsigned max)
{
	if (!max || !smp_boot_ns)
		return 0;
	samples[0] = smp_boot_ns / 1000;
	return 1;
}
BENCH(ap_bringup, "us", bench_ap_bringup);

static unsigned bench_boot_to_online(uint64_t *samples, unsigned max)
{
	if (!max || !boot_to_all_online_ns)
		return 0;
	samples[0] = boot_to_all_online_ns / 1000;
	return 1;
}
BENCH(kernel_entry_to_all_online, "us", bench_boot_to_online);

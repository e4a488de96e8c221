/*
 * TSC calibration.  The TSC is the clock behind printk timestamps and
 * arch_time_ns().  Its frequency is measured against the HPET when ACPI
 * describes one (its period is given in femtoseconds, IA-PC HPET spec 2.3.4),
 * otherwise against the PIT.
 */
#include <asm/cpu.h>
#include <asm/io.h>
#include <asm/paging.h>
#include <asm/time.h>
#include <vigil/arch.h>

uint64_t tsc_hz;
const char *tsc_calibration_source = "none";
static uint64_t tsc_at_boot;

void tsc_mark_boot(void)
{
	tsc_at_boot = rdtsc();
}

static uint64_t calibrate_with_hpet(uint64_t hpet_phys)
{
	volatile uint8_t *hpet = ioremap(hpet_phys, 0x400);
	uint64_t caps = mmio_read64(hpet + 0x00);
	uint64_t period_fs = caps >> 32;
	if (period_fs == 0 || period_fs > 100000000ULL) /* spec: at most 100 ns */
		return 0;
	uint64_t cfg = mmio_read64(hpet + 0x10);
	mmio_write64(hpet + 0x10, cfg | 1); /* ENABLE_CNF: main counter runs */
	uint64_t ticks_10ms = 10000000000000ULL / period_fs; /* 10 ms in HPET ticks */
	uint64_t h0 = mmio_read64(hpet + 0xF0), t0 = rdtsc();
	uint64_t h1, spins = 0;
	do {
		h1 = mmio_read64(hpet + 0xF0);
		if (++spins > 200000000ULL)
			return 0; /* counter not moving */
	} while (h1 - h0 < ticks_10ms);
	uint64_t t1 = rdtsc();
	/* hz = tsc_delta / (hpet_delta * period): with the HPET frequency
	 * (<= 1e9/10 in practice) the product tsc_delta * hpet_hz stays far
	 * below 2^64 for a 10 ms window. */
	uint64_t hpet_hz = 1000000000000000ULL / period_fs;
	return (t1 - t0) * hpet_hz / (h1 - h0);
}

static uint64_t calibrate_with_pit(void)
{
	uint64_t t0 = rdtsc();
	pit_delay_us(20000);
	uint64_t t1 = rdtsc();
	return (t1 - t0) * 50;
}

void tsc_calibrate(uint64_t hpet_phys)
{
	uint64_t hz = 0;
	if (hpet_phys) {
		hz = calibrate_with_hpet(hpet_phys);
		if (hz)
			tsc_calibration_source = "hpet";
	}
	if (!hz) {
		hz = calibrate_with_pit();
		tsc_calibration_source = "pit";
	}
	if (hz < 1000000)
		hz = 1000000000; /* nonsense measurement: assume 1 GHz rather than divide by ~0 */
	tsc_hz = hz;
}

uint64_t arch_time_ns(void)
{
	if (!tsc_hz)
		return 0;
	uint64_t d = rdtsc() - tsc_at_boot;
	/* Split to avoid overflowing 64 bits: d * 1e9 overflows after ~18 s at 1 GHz. */
	return (d / tsc_hz) * 1000000000ULL + (d % tsc_hz) * 1000000000ULL / tsc_hz;
}

void udelay(uint64_t us)
{
	if (!tsc_hz) {
		pit_delay_us((uint32_t)us);
		return;
	}
	uint64_t end = rdtsc() + us * (tsc_hz / 1000000);
	while ((int64_t)(rdtsc() - end) < 0)
		cpu_relax();
}

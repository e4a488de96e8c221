/*
 * Local APIC: xAPIC through MMIO, x2APIC through MSRs 0x800+ (SDM vol 3,
 * 11.12 "Extended xAPIC (x2APIC)": MSR = 0x800 + (MMIO offset >> 4); the ICR
 * is one 64-bit MSR).  x2APIC mode is used when the firmware already enabled
 * it (it cannot be turned back to xAPIC without a reset of the APIC, SDM
 * 11.12.5) or when the MADT lists APIC IDs above 255.
 */
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/io.h>
#include <asm/paging.h>
#include <asm/time.h>
#include <asm/trap.h>
#include <vigil/console_input.h>
#include <vigil/printk.h>
#include <vigil/task.h>
#include <asm/percpu.h>

bool apic_x2apic_mode;
uint32_t lapic_timer_hz;
uint64_t lapic_timer_ticks;
static volatile uint8_t *lapic_mmio;
static uint32_t lapic_timer_icr;

uint32_t lapic_read(uint32_t reg)
{
	if (apic_x2apic_mode)
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return mmio_read32(lapic_mmio + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	if (apic_x2apic_mode)
		wrmsr(0x800 + (reg >> 4), v);
	else
		mmio_write32(lapic_mmio + reg, v);
}

uint32_t lapic_id(void)
{
	if (apic_x2apic_mode)
		return (uint32_t)rdmsr(0x802);
	return lapic_read(APIC_REG_ID) >> 24;
}

void lapic_eoi(void)
{
	lapic_write(APIC_REG_EOI, 0);
}

void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	if (apic_x2apic_mode) {
		/* x2APIC ICR writes are not serializing; fence so prior stores are visible (SDM 11.12.3). */
		__asm__ volatile("mfence" ::: "memory");
		wrmsr(0x830, ((uint64_t)apic_id << 32) | icr_low);
		return;
	}
	/* The xAPIC ICR is two registers: an interrupt handler that sends an
	 * IPI between the two writes would redirect ours.  Interrupts off. */
	uint64_t flags = read_rflags();
	cli();
	lapic_write(APIC_REG_ICR_HI, apic_id << 24);
	lapic_write(APIC_REG_ICR_LO, icr_low);
	for (int i = 0; i < 1000000 && (lapic_read(APIC_REG_ICR_LO) & APIC_ICR_BUSY); i++)
		cpu_relax();
	if (flags & X86_RFLAGS_IF)
		sti();
}

static void lapic_timer_irq(struct trap_frame *tf)
{
	(void)tf;
	if (this_cpu()->cpu == 0)
		__atomic_add_fetch(&lapic_timer_ticks, 1, __ATOMIC_RELAXED);
	this_cpu()->timer_ticks++;
	lapic_eoi();
	/* Console input into its ring every millisecond, whatever runs:
	 * the UART holds 16 bytes, 1.4 ms of typing at 115200 baud. */
	if (this_cpu()->cpu == 0)
		console_input_poll();
	sched_tick();
}

void lapic_init_bsp(uint64_t madt_lapic_phys)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	bool want_x2 = (base & APIC_BASE_X2APIC) != 0;
	if (want_x2 && !boot_cpu.x2apic)
		panic("lapic: firmware enabled x2APIC but CPUID does not report it");
	apic_x2apic_mode = want_x2;
	uint64_t phys = base & 0xFFFFFF000ULL;
	if (madt_lapic_phys && madt_lapic_phys != phys)
		printk("lapic: MADT says 0x%lx, IA32_APIC_BASE says 0x%lx; using the MSR\n", madt_lapic_phys, phys);
	if (!apic_x2apic_mode)
		lapic_mmio = ioremap(phys, 4096);
	irq_register(VEC_LAPIC_TIMER, lapic_timer_irq);
	lapic_init_cpu();
}

/* Switch to x2APIC mode (needed when APIC IDs exceed 255). */
void lapic_enable_x2apic(void)
{
	if (apic_x2apic_mode)
		return;
	wrmsr(MSR_IA32_APIC_BASE, rdmsr(MSR_IA32_APIC_BASE) | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	apic_x2apic_mode = true;
}

/* Per-CPU LAPIC setup: software-enable with the spurious vector, mask LINT
 * pins (the PIC is not used), clear errors. */
void lapic_init_cpu(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_ENABLE);
	if (apic_x2apic_mode && !(base & APIC_BASE_X2APIC))
		wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	lapic_write(APIC_REG_TPR, 0);
	lapic_write(APIC_REG_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(APIC_REG_LVT_LINT0, APIC_LVT_MASKED);
	lapic_write(APIC_REG_LVT_LINT1, APIC_LVT_MASKED);
	lapic_write(APIC_REG_LVT_ERROR, VEC_LAPIC_ERROR);
	lapic_write(APIC_REG_ESR, 0);
	lapic_write(APIC_REG_ESR, 0);
	if (lapic_timer_icr) {
		lapic_write(APIC_REG_TIMER_DCR, 0x3); /* divide by 16 */
		lapic_write(APIC_REG_LVT_TIMER, VEC_LAPIC_TIMER | APIC_TIMER_PERIODIC);
		lapic_write(APIC_REG_TIMER_ICR, lapic_timer_icr);
	}
}

/* Measure the APIC timer against the (calibrated) TSC, then start it
 * periodic at hz on this CPU; other CPUs reuse the same count. */
void lapic_timer_start(unsigned hz)
{
	lapic_write(APIC_REG_TIMER_DCR, 0x3);
	lapic_write(APIC_REG_LVT_TIMER, APIC_LVT_MASKED);
	lapic_write(APIC_REG_TIMER_ICR, 0xFFFFFFFF);
	udelay(10000);
	uint32_t elapsed = 0xFFFFFFFF - lapic_read(APIC_REG_TIMER_CCR);
	lapic_write(APIC_REG_TIMER_ICR, 0);
	uint64_t per_sec = (uint64_t)elapsed * 100;
	if (per_sec < hz)
		panic("lapic: timer does not count (%u in 10 ms)", elapsed);
	lapic_timer_icr = (uint32_t)(per_sec / hz);
	lapic_timer_hz = hz;
	lapic_write(APIC_REG_LVT_TIMER, VEC_LAPIC_TIMER | APIC_TIMER_PERIODIC);
	lapic_write(APIC_REG_TIMER_ICR, lapic_timer_icr);
	printk("lapic: timer %lu Hz bus clock/16, periodic %u Hz (count %u)\n", per_sec, hz, lapic_timer_icr);
}

/* Per-CPU areas: the boot CPU's is static (needed before the heap), the
 * others are allocated when a CPU is first brought up. */
#include <asm/cpu.h>
#include <asm/percpu.h>
#include <vigil/config.h>

static struct percpu boot_percpu;
struct percpu *percpu_of[CONFIG_MAX_CPUS];

void percpu_install(struct percpu *p)
{
	p->self = p;
	percpu_of[p->cpu] = p;
	wrmsr(MSR_GS_BASE, (uint64_t)p);
}

void percpu_init_boot(void)
{
	boot_percpu.cpu = 0;
	percpu_install(&boot_percpu);
}

unsigned smp_processor_id(void)
{
	return this_cpu()->cpu;
}

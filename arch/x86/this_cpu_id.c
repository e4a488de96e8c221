/*
 * arch_this_cpu_id(): which CPU is this, in any context and at any stage of
 * its life.  smp_processor_id() reads the per-CPU area through GS, which is
 * only valid once percpu_install() has run on this CPU; before that the GS
 * base is whatever reset (0) or the firmware left, and dereferencing it could
 * fault, which the panic path (its one user) cannot afford.
 *
 * So the GS base (IA32_GS_BASE, SDM vol 3A 3.4.4 "Segment loading
 * instructions in IA-32e mode") is compared with the per-CPU areas the kernel
 * made, without dereferencing it unless it is one of them.
 */
#include <asm/cpu.h>
#include <asm/percpu.h>
#include <vigil/arch.h>
#include <vigil/config.h>

int arch_this_cpu_id(void)
{
	uint64_t gs = rdmsr(MSR_GS_BASE);
	if (!gs)
		return -1;
	for (unsigned c = 0; c < CONFIG_MAX_CPUS; c++)
		if (percpu_of[c] && (uint64_t)percpu_of[c] == gs)
			return (int)c;
	return -1;
}

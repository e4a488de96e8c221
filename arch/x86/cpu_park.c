/* The end of an offlined CPU (include/vigil/arch.h, arch_cpu_park). */
#include <asm/apic.h>
#include <vigil/arch.h>

/*
 * Stop the LAPIC timer and halt with interrupts off.  NMIs still wake the
 * HLT and return to it; INIT (the next online's INIT-SIPI-SIPI) resets the
 * CPU out of here into the trampoline (SDM vol 3, 9.4.4 / 11.6.1), so
 * nothing on this stack is needed again.
 */
__noreturn void arch_cpu_park(void)
{
	lapic_write(APIC_REG_LVT_TIMER, APIC_LVT_MASKED);
	for (;;)
		__asm__ volatile("cli; hlt" ::: "memory");
}

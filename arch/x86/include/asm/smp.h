/* Application processor start-up (arch/x86/smp_boot.c). */
#ifndef ASM_SMP_H
#define ASM_SMP_H
#include <vigil/types.h>
void smp_boot_aps(uint64_t trampoline_phys);
unsigned smp_start_cpus(const unsigned *cpus, unsigned n);
/* Where an AP goes once its hardware state is set up (never returns). */
__noreturn void ap_started(unsigned cpu);
extern uint64_t smp_boot_ns;
/* Kernel entry (TSC at _start64) to every AP online, for the smp bench. */
extern uint64_t boot_to_all_online_ns;
#endif

/* What an AP does once it is up: take interrupts and wait for work. */
#include <asm/cpu.h>
#include <asm/smp.h>

__noreturn void ap_started(unsigned cpu)
{
	(void)cpu;
	for (;;)
		__asm__ volatile("sti; hlt" ::: "memory");
}

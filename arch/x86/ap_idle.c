/* What an AP does once its hardware is set up: become a scheduler CPU. */
#include <asm/cpu.h>
#include <asm/smp.h>
#include <vigil/task.h>

__noreturn void ap_started(unsigned cpu)
{
	sched_start_ap(cpu);
}

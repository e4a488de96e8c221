/*
 * The CPU-hotplug state machine (core/hotplug/hotplug.c, the real code) on
 * host_smp's fake CPUs: host_cpuhp.c compiles hotplug.c into itself and
 * supplies the hooks the kernel's arch and scheduler code would:
 *
 *  - arch_cpu_bringup(cpu): the "AP boot path" is a task spawned on fake
 *    CPU cpu that runs cpuhp_ap_starting() with interrupts off; only after it
 *    returned is the CPU marked online (host_cpu_online), as the real AP
 *    marks itself online after its STARTING steps.
 *  - sched_cpu_deactivate(cpu): flushes the CPU's queued calls
 *    (host_cpu_offline), then its "idle task" (a task spawned on that CPU)
 *    runs cpuhp_ap_dying() with interrupts off, asynchronously, so the
 *    state machine's wait for the dying CPU is exercised as in the kernel.
 *  - kthread_run_percpu: a host task on that fake CPU (cpuhp/<n>).
 *  - sleep_ns: a plain thread sleep (the task stays runnable).
 *
 * hotplug.c keeps its state in statics and cpuhp_init() may run only once,
 * so host_cpuhp_boot() boots once per process; tests leave every CPU online
 * again when they finish.
 */
#ifndef TESTS_UNIT_HOST_CPUHP_H
#define TESTS_UNIT_HOST_CPUHP_H

#include <stdbool.h>
#include <stdint.h>
#include <vigil/cpuhp.h>

/* Boot: fake CPUs 0..possible-1 (0..online-1 online), the virtualization
 * core (virt_init), then a PREPARE state whose callbacks are prep_up and
 * prep_down (there is no public API for PREPARE states: they are static,
 * like Linux's), then cpuhp_init().  Once per process. */
void host_cpuhp_boot(unsigned possible, unsigned online, cpuhp_startup_fn prep_up,
		     cpuhp_teardown_fn prep_down);

/* End every thread the state machine and host_smp started (the group's
 * teardown); hotplug is refused afterwards. */
void host_cpuhp_shutdown(void);

/* Wait for every dying CPU's idle task to finish. */
void host_cpuhp_join_dying(void);

/* The state machine's record of the steps done for cpu (bit per state id). */
uint32_t host_cpuhp_done(unsigned cpu);

/* Times arch_cpu_bringup / cpuhp_ap_dying ran for cpu. */
unsigned long host_cpuhp_bringups(unsigned cpu);
unsigned long host_cpuhp_deaths(unsigned cpu);
/* Times the state machine told the scheduler a start of cpu failed. */
unsigned long host_cpuhp_start_failures(unsigned cpu);

/* While held, a CPU being taken offline does not stop (its dying idle task
 * waits before cpuhp_ap_dying()). */
void host_cpuhp_hold_death(unsigned cpu, bool hold);

/* The next count bring-ups of cpu fail as if the CPU did not answer
 * INIT-SIPI-SIPI (0: disarm). */
void host_cpuhp_fail_bringup(unsigned cpu, int count);

#endif

/*
 * The CPU-hotplug state machine (docs/design.md section 3), modelled on Linux's
 * cpuhp: an ordered table of states, each with a startup callback (run on
 * the way up) and a teardown callback (run on the way down, in reverse
 * order), in three sections:
 *
 *   PREPARE   run on the control CPU (the one doing `cpu online`), before the
 *             target runs / after it died.  May sleep and fail.
 *   STARTING  run on the target CPU itself with interrupts off, early in its
 *             bring-up and late in its death.  Cannot fail, cannot sleep.
 *   ONLINE    run on the target CPU in its hotplug thread "cpuhp/<n>": may
 *             sleep and may fail; a failure rolls back the steps already
 *             done and vetoes the online (the CPU ends offline).
 *
 * cpu_up() and cpu_down() hold cpus_write_lock() for the whole walk, so a
 * cpus_read_lock() holder sees the set of online CPUs stand still.  The boot
 * CPU cannot be taken offline.
 *
 * The architecture and the scheduler supply the transitions in the middle
 * (arch_cpu_bringup, sched_cpu_deactivate); the host test build supplies its
 * own, so the same state machine runs under real threads in tests/unit.
 */
#ifndef VIGIL_CPUHP_H
#define VIGIL_CPUHP_H
#include <vigil/types.h>
#include <vigil/why.h>

enum cpuhp_section { CPUHP_PREPARE, CPUHP_STARTING, CPUHP_ONLINE };

/* Startup: 0, or -1 with why (ignored for STARTING, which cannot fail). */
typedef int (*cpuhp_startup_fn)(unsigned cpu, char *why, size_t len);
typedef void (*cpuhp_teardown_fn)(unsigned cpu);

#define CPUHP_MAX_STATES 16

/* Register a state at the end of the ONLINE section (dynamic states, like
 * Linux's CPUHP_AP_ONLINE_DYN): its startup runs now on every online CPU, in
 * that CPU's hotplug thread; if one fails, the teardown runs on the CPUs done
 * and the registration fails with why.  Returns the state's id (>= 0). */
int cpuhp_setup_state(const char *name, cpuhp_startup_fn startup, cpuhp_teardown_fn teardown, char *why,
		      size_t len);
/* The same in the STARTING section (interrupts off on the target CPU;
 * cannot fail).  For self-tests and arch code. */
int cpuhp_setup_starting_state(const char *name, cpuhp_startup_fn startup, cpuhp_teardown_fn teardown);
/* The same without running the startup now: the caller has set up the CPUs
 * online already, or registers before cpuhp_init() (which counts every
 * state done on the CPUs up at boot).  Sleeping context.  Returns the
 * state's id (>= 0), or -1 when every state is in use. */
int cpuhp_setup_state_nocalls(const char *name, cpuhp_startup_fn startup, cpuhp_teardown_fn teardown);
/* Unregister: its teardown runs on every online CPU first. */
void cpuhp_remove_state(int id);

/* Bring a CPU online / take it offline (cpus_write_lock inside; may sleep).
 * 0, or -cause (vigil/why.h; a vetoing step's cause, e.g. WHY_INCOMPATIBLE
 * or WHY_INJECTED) with why; on failure the CPU is left as it was before. */
int cpu_up(unsigned cpu, char *why, size_t len);
int cpu_down(unsigned cpu, char *why, size_t len);

/* The firmware inserted the CPU (present: ABSENT -> OFFLINE) or is going to
 * eject it (OFFLINE or FAILED -> ABSENT; an online CPU must be taken down
 * first).  0, or -1 with why and nothing changed. */
int cpu_set_present(unsigned cpu, bool present, char *why, size_t len);
/* Firmware CPU hot-add and hot-remove by APIC ID (core/hotplug/hotadd.c):
 * add marks the CPU present and brings it online through cpu_up() (so with
 * VMs it is checked and enabled, or refused and left offline); remove takes
 * it offline through cpu_down() and marks it absent, after which the caller
 * may eject it.  0, or -cause (vigil/why.h, as cpu_up/cpu_down) with why. */
int cpu_hot_add(uint32_t apic_id, unsigned *cpu, char *why, size_t len);
int cpu_hot_remove(uint32_t apic_id, unsigned *cpu, char *why, size_t len);

/* Boot: take over the CPUs that are already online (registering their
 * hotplug threads) once the scheduler runs on all of them. */
void cpuhp_init(void);

/* The highest state reached by cpu, for `cpus` and tests. */
const char *cpuhp_state_name(unsigned cpu);
/* Operations done since boot (for benches and stress). */
extern unsigned long cpuhp_ups, cpuhp_downs;
/* Benches: take cpu offline and online again up to rounds times (fewer
 * when max is smaller or a step fails); each sample is the offline or the
 * online step (measure_down), in microseconds.  Returns the samples taken
 * (core/hotplug/hotplug_bench.c). */
unsigned cpuhp_bench_cycles(unsigned cpu, unsigned rounds, uint64_t *samples, unsigned max, bool measure_down);

/* ---- called by the architecture / scheduler ---- */

/* On the target CPU, interrupts off, before it is marked online: run the
 * STARTING startups. */
void cpuhp_ap_starting(unsigned cpu);
/* On the dying CPU, interrupts off, from its idle task once nothing else is
 * left there: run the STARTING teardowns and report the CPU dead.  The
 * caller then parks the CPU for good (arch_cpu_park). */
void cpuhp_ap_dying(unsigned cpu);

/* Hooks the state machine calls (arch/x86 + core/sched in the kernel, the
 * host test support in tests/unit). */
/* Start cpu (INIT-SIPI-SIPI); returns when it ran cpuhp_ap_starting() and is
 * marked online, or -1 with why (the CPU is then failed or offline). */
int arch_cpu_bringup(unsigned cpu, char *why, size_t len);
/* The scheduler: make cpu take no more tasks, move its tasks elsewhere and
 * let its idle task call cpuhp_ap_dying(). */
void sched_cpu_deactivate(unsigned cpu);
/* The scheduler: cpu may take tasks again (before it is started). */
void sched_cpu_activate(unsigned cpu);
/* The scheduler: the cpu activated for a start never came; its run queue
 * takes no tasks again (nothing runs there, so nothing is moved). */
void sched_cpu_start_failed(unsigned cpu);

#endif

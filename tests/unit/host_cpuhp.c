/*
 * The CPU-hotplug state machine on the host: see host_cpuhp.h.
 *
 * hotplug.c is compiled into this file (as lib_kstring.c does with
 * core/lib/string.c) so a PREPARE state can be added to its table at boot
 * through its own add_step() -- the only way in, short of giving the kernel
 * an API for dynamic PREPARE states that nothing there needs -- and so the
 * tests can read which steps it believes done for a CPU.
 */
/* A CPU that will not stop is given up on after this long (10 s in the
 * kernel). */
#define DIE_TIMEOUT_NS (300ULL * 1000000ULL)
#include "../../core/hotplug/hotplug.c"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <vigil/cmdline.h>
#include <vigil/virt.h>

#include "host_cpuhp.h"
#include "host_sched.h"
#include "host_smp.h"
#include "host_virt.h"

/* Touched by the control side with the hotplug lock held for write, or by a
 * quiescent test. */
static struct task *dying_task[HOST_MAX_CPUS];
static unsigned long bringups[HOST_MAX_CPUS];
static unsigned long deaths[HOST_MAX_CPUS];   /* atomic: written by the dying CPU */
static unsigned long start_failures[HOST_MAX_CPUS];
static int fail_bringup[HOST_MAX_CPUS];
static volatile bool hold_death[HOST_MAX_CPUS];  /* atomic */

void host_cpuhp_boot(unsigned possible, unsigned online, cpuhp_startup_fn prep_up,
		     cpuhp_teardown_fn prep_down)
{
	host_virt_reset();
	inject_clear_all();
	boot_params_init("");
	host_smp_start(possible, online);
	virt_init();
	/* Before cpuhp_init, which then counts it done on the CPUs already
	 * up, as it does for the kernel's static states. */
	if (add_step("test:prepare", CPUHP_PREPARE, prep_up, prep_down) < 0)
		panic("host_cpuhp_boot: no free state");
	cpuhp_init();
}

/* ---- the AP's bring-up and death, on the fake CPU itself ---- */

static void ap_starting_fn(void *arg)
{
	unsigned cpu = (unsigned)(uintptr_t)arg;
	/* The AP runs its STARTING steps before it enables interrupts. */
	unsigned long flags = arch_irq_save();
	cpuhp_ap_starting(cpu);
	arch_irq_restore(flags);
}

int arch_cpu_bringup(unsigned cpu, char *why, size_t len)
{
	bringups[cpu]++;
	if (fail_bringup[cpu]) {
		fail_bringup[cpu]--;
		snprintf(why, len, "CPU %u did not answer INIT-SIPI-SIPI (host test)", cpu);
		return -1;
	}
	char name[24];
	snprintf(name, sizeof(name), "ap/%u", cpu);
	host_task_run(ap_starting_fn, (void *)(uintptr_t)cpu, cpu, name);
	/* Only now does the CPU take calls, as the real AP marks itself
	 * online after its STARTING steps. */
	host_cpu_online(cpu);
	return 0;
}

static void idle_die_fn(void *arg)
{
	unsigned cpu = (unsigned)(uintptr_t)arg;
	/* A real CPU takes a while to get from the reschedule IPI to its idle
	 * task: a state machine that did not wait for it would run the
	 * PREPARE teardowns first, and the order tests would see it. */
	host_msleep(2);
	/* A CPU that keeps running after it was told to stop. */
	while (__atomic_load_n(&hold_death[cpu], __ATOMIC_ACQUIRE))
		host_msleep(1);
	/* The idle task of the dying CPU, the last thing to run there. */
	unsigned long flags = arch_irq_save();
	__atomic_add_fetch(&deaths[cpu], 1, __ATOMIC_RELAXED);
	cpuhp_ap_dying(cpu);
	arch_irq_restore(flags);
}

void sched_cpu_activate(unsigned cpu)
{
	/* The previous death of this CPU is over (the state machine waited
	 * for it); reap its thread. */
	if (dying_task[cpu]) {
		host_task_join(dying_task[cpu]);
		dying_task[cpu] = NULL;
	}
}

void sched_cpu_start_failed(unsigned cpu)
{
	/* Nothing ran there: no death to wait for, and host_cpu_online()
	 * was never called for it. */
	__atomic_add_fetch(&start_failures[cpu], 1, __ATOMIC_RELAXED);
}

void sched_cpu_deactivate(unsigned cpu)
{
	/* The state machine marked it offline: no new call can be queued;
	 * the ones already queued run there first. */
	host_cpu_offline(cpu);
	if (dying_task[cpu])
		host_task_join(dying_task[cpu]);
	char name[24];
	snprintf(name, sizeof(name), "idle/%u", cpu);
	/* Not waited for: the state machine must wait for the CPU itself. */
	dying_task[cpu] = host_task_spawn(idle_die_fn, (void *)(uintptr_t)cpu, cpu, name);
}

void host_cpuhp_join_dying(void)
{
	for (unsigned c = 0; c < HOST_MAX_CPUS; c++)
		if (dying_task[c]) {
			host_task_join(dying_task[c]);
			dying_task[c] = NULL;
		}
}

/* ---- what the scheduler provides ---- */

struct task *kthread_run_percpu(void (*fn)(void *), void *arg, unsigned cpu, const char *name)
{
	/* A host task stays on the CPU it was spawned on, which is what a
	 * per-CPU thread needs; it never returns (cpuhp_thread_fn loops). */
	return host_task_spawn(fn, arg, cpu, name);
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL), .tv_nsec = (long)(ns % 1000000000ULL) };
	if (in_atomic())
		panic("sleep_ns while not preemptible");
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- the end of the test binary ---- */

/* cpuhp/<n> never returns (cpuhp_thread_fn loops), but host_sched frees
 * every task at exit, and a thread still waiting on its condition variable
 * then is a use after free.  So each thread is handed a step whose startup
 * ends the thread, and joined. */
static int exit_thread_step(unsigned cpu, char *why, size_t len)
{
	(void)cpu;
	(void)why;
	(void)len;
	pthread_exit(NULL);
}

void host_cpuhp_shutdown(void)
{
	host_cpuhp_join_dying();
	mutex_lock(&cpuhp_mutex);
	int id = add_step("host:exit", CPUHP_ONLINE, exit_thread_step, NULL);
	if (id < 0)
		panic("host_cpuhp_shutdown: no free state");
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		struct cpuhp_cpu *st = &cpus[c];
		if (!st->thread)
			continue;
		st->req = REQ_STEP_UP;
		st->req_step = id;
		complete(&st->kick);
		host_task_join(st->thread);
		st->thread = NULL;
	}
	del_step(id);
	cpuhp_ready = false;
	mutex_unlock(&cpuhp_mutex);
	host_smp_stop();
}

/* ---- for the tests ---- */

uint32_t host_cpuhp_done(unsigned cpu)
{
	return cpus[cpu].done;
}

unsigned long host_cpuhp_bringups(unsigned cpu)
{
	return bringups[cpu];
}

unsigned long host_cpuhp_start_failures(unsigned cpu)
{
	return __atomic_load_n(&start_failures[cpu], __ATOMIC_RELAXED);
}

unsigned long host_cpuhp_deaths(unsigned cpu)
{
	return __atomic_load_n(&deaths[cpu], __ATOMIC_RELAXED);
}

void host_cpuhp_hold_death(unsigned cpu, bool hold)
{
	__atomic_store_n(&hold_death[cpu], hold, __ATOMIC_RELEASE);
}

void host_cpuhp_fail_bringup(unsigned cpu, int count)
{
	fail_bringup[cpu] = count;
}

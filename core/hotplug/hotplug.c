/*
 * The CPU-hotplug state machine (include/vigil/cpuhp.h, docs/design.md section 3).
 *
 * The walk for one CPU, up:
 *     PREPARE startups          control CPU, in table order
 *     sched_cpu_activate + arch_cpu_bringup (INIT-SIPI-SIPI); the new CPU
 *       runs the STARTING startups with interrupts off, then goes online
 *     ONLINE startups           target CPU, in its thread cpuhp/<n>
 * and down, the mirror image:
 *     ONLINE teardowns          cpuhp/<n>, reverse order
 *     marked offline, sched_cpu_deactivate: its tasks move elsewhere and its
 *       idle task runs the STARTING teardowns and parks the CPU
 *     PREPARE teardowns         control CPU, reverse order
 * A failing startup rolls back every step done for that CPU, in reverse, and
 * the CPU ends where it started (offline).  Each CPU records which steps
 * have run for it, so a rollback or a later teardown runs exactly those.
 *
 * Locks: cpu_up/cpu_down hold cpus_write_lock() for the whole walk, then
 * cpuhp_mutex.  Registering a state holds cpus_read_lock() and cpuhp_mutex.
 * Callbacks run while the hotplug lock is held by the walker, so they must
 * not take cpus_read_lock() themselves (the same rule as Linux).
 */
#include <vigil/arch.h>
#include <vigil/completion.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/inject.h>
#include <vigil/mutex.h>
#include <vigil/percpu_rwsem.h>
#include <vigil/printk.h>
#include <vigil/smp.h>
#include <vigil/string.h>
#include <vigil/task.h>

INJECT_POINT(cpuhp_online_fail, "the last ONLINE hotplug step fails on the CPU");

struct cpuhp_step {
	const char *name;
	enum cpuhp_section section;
	cpuhp_startup_fn startup;
	cpuhp_teardown_fn teardown;
	bool used;
};

enum cpuhp_request { REQ_NONE, REQ_UP, REQ_DOWN, REQ_STEP_UP, REQ_STEP_DOWN };

struct cpuhp_cpu {
	unsigned cpu;
	uint32_t done;              /* bit per step id: its startup ran, teardown not yet */
	struct task *thread;        /* cpuhp/<cpu> */
	struct completion kick, finished;
	enum cpuhp_request req;
	int req_step;
	int result;
	char why[WHY_MAX];
	volatile bool dead;         /* set by the dying CPU itself */
	bool stuck;                 /* taken offline, but did not stop in time */
};

static struct cpuhp_step steps[CPUHP_MAX_STATES];
/* Step ids in walk order (by section, then registration order). */
static int order[CPUHP_MAX_STATES];
static unsigned nr_order;
static struct cpuhp_cpu cpus[CONFIG_MAX_CPUS];
static DEFINE_MUTEX(cpuhp_mutex);
static bool cpuhp_ready;
unsigned long cpuhp_ups, cpuhp_downs;

#ifndef DIE_TIMEOUT_NS  /* the host tests shorten it */
#define DIE_TIMEOUT_NS (10ULL * 1000000000ULL)
#endif

/* ---- the table ---- */

static int add_step(const char *name, enum cpuhp_section sec, cpuhp_startup_fn up, cpuhp_teardown_fn down)
{
	int id = -1;
	for (int i = 0; i < CPUHP_MAX_STATES; i++)
		if (!steps[i].used) {
			id = i;
			break;
		}
	if (id < 0)
		return -1;
	steps[id] = (struct cpuhp_step){ name, sec, up, down, true };
	/* After the last step of the same or an earlier section. */
	unsigned pos = 0;
	while (pos < nr_order && steps[order[pos]].section <= sec)
		pos++;
	memmove(&order[pos + 1], &order[pos], (nr_order - pos) * sizeof(order[0]));
	order[pos] = id;
	nr_order++;
	return id;
}

static void del_step(int id)
{
	for (unsigned i = 0; i < nr_order; i++)
		if (order[i] == id) {
			memmove(&order[i], &order[i + 1], (nr_order - i - 1) * sizeof(order[0]));
			nr_order--;
			break;
		}
	steps[id].used = false;
}

/* ---- steps on the target CPU ---- */

/* 0, or the step's -cause (vigil/why.h) with why filled in. */
static int run_startup(struct cpuhp_cpu *st, int id, char *why, size_t len)
{
	struct cpuhp_step *s = &steps[id];
	int r = s->startup ? s->startup(st->cpu, why, len) : 0;
	if (r != 0) {
		if (!why[0])
			snprintf(why, len, "%s failed", s->name);
		return r < 0 ? r : -1;
	}
	st->done |= 1u << id;
	return 0;
}

static void run_teardown(struct cpuhp_cpu *st, int id)
{
	if (!(st->done & (1u << id)))
		return;
	if (steps[id].teardown)
		steps[id].teardown(st->cpu);
	st->done &= ~(1u << id);
}

void cpuhp_ap_starting(unsigned cpu)
{
	struct cpuhp_cpu *st = &cpus[cpu];
	char why[64]; /* the AP's early boot stack: a STARTING step's reason is short */
	st->dead = false;
	for (unsigned i = 0; i < nr_order; i++)
		if (steps[order[i]].section == CPUHP_STARTING) {
			why[0] = 0;
			run_startup(st, order[i], why, sizeof(why)); /* cannot fail */
		}
}

void cpuhp_ap_dying(unsigned cpu)
{
	struct cpuhp_cpu *st = &cpus[cpu];
	for (int i = (int)nr_order - 1; i >= 0; i--)
		if (steps[order[i]].section == CPUHP_STARTING)
			run_teardown(st, order[i]);
	__atomic_store_n(&st->dead, true, __ATOMIC_RELEASE);
}

/* ONLINE section, in cpuhp/<cpu>. */
static int online_up(struct cpuhp_cpu *st)
{
	for (unsigned i = 0; i < nr_order; i++) {
		int id = order[i];
		if (steps[id].section != CPUHP_ONLINE)
			continue;
		st->why[0] = 0;
		int r = run_startup(st, id, st->why, sizeof(st->why));
		if (r == 0 && i == nr_order - 1 && inject_hit(&inject_cpuhp_online_fail, st->cpu)) {
			run_teardown(st, id);
			r = why_fail(st->why, sizeof(st->why), WHY_INJECTED, "failed (injected)");
		}
		if (r != 0) {
			/* Roll back what this walk did, newest first. */
			for (int j = (int)i - 1; j >= 0; j--)
				if (steps[order[j]].section == CPUHP_ONLINE)
					run_teardown(st, order[j]);
			char msg[WHY_MAX + 64]; /* the prefix, then the step's reason */
			snprintf(msg, sizeof(msg), "CPU %u: %s: %s", st->cpu, steps[id].name, st->why);
			strlcpy(st->why, msg, sizeof(st->why));
			return r;
		}
	}
	return 0;
}

static void online_down(struct cpuhp_cpu *st)
{
	for (int i = (int)nr_order - 1; i >= 0; i--)
		if (steps[order[i]].section == CPUHP_ONLINE)
			run_teardown(st, order[i]);
}

static void cpuhp_thread_fn(void *arg)
{
	struct cpuhp_cpu *st = arg;
	for (;;) {
		wait_for_completion(&st->kick);
		/* The walker (or registrar) holds the hotplug lock for this
		 * thread and waits for it: tell lockdep the callbacks run under
		 * it, so one that takes cpus_read_lock() -- a deadlock once a
		 * writer waits -- is reported, as Linux's cpuhp_state lockdep
		 * maps do.  Released before the walker is told we are done. */
		lock_acquire(&cpuhp_lock()->dep_map, 0, false, true, "cpuhp thread, for the hotplug walker",
			     LOCKDEP_RET_IP);
		switch (st->req) {
		case REQ_UP:
			st->result = online_up(st);
			break;
		case REQ_DOWN:
			online_down(st);
			st->result = 0;
			break;
		case REQ_STEP_UP:
			st->why[0] = 0;
			st->result = run_startup(st, st->req_step, st->why, sizeof(st->why));
			break;
		case REQ_STEP_DOWN:
			run_teardown(st, st->req_step);
			st->result = 0;
			break;
		case REQ_NONE:
			break;
		}
		st->req = REQ_NONE;
		lock_release(&cpuhp_lock()->dep_map, "cpuhp thread, for the hotplug walker", LOCKDEP_RET_IP);
		complete(&st->finished);
	}
}

/* Run a request in cpuhp/<cpu> and wait for it (control side). */
static int thread_request(struct cpuhp_cpu *st, enum cpuhp_request req, int step)
{
	st->req = req;
	st->req_step = step;
	complete(&st->kick);
	wait_for_completion(&st->finished);
	return st->result;
}

static int ensure_thread(struct cpuhp_cpu *st)
{
	if (st->thread)
		return 0;
	char name[TASK_NAME_LEN];
	snprintf(name, sizeof(name), "cpuhp/%u", st->cpu);
	st->thread = kthread_run_percpu(cpuhp_thread_fn, st, st->cpu, name);
	return st->thread ? 0 : -1;
}

/* ---- the walks (cpus_write_lock and cpuhp_mutex held) ---- */

static void prepare_down(struct cpuhp_cpu *st)
{
	for (int i = (int)nr_order - 1; i >= 0; i--)
		if (steps[order[i]].section == CPUHP_PREPARE)
			run_teardown(st, order[i]);
}

/* The CPU is online with its ONLINE steps undone: take it down to dead. */
static int kill_cpu(struct cpuhp_cpu *st, char *why, size_t len)
{
	unsigned cpu = st->cpu;
	cpu_table[cpu].state = CPU_OFFLINE;
	sched_cpu_deactivate(cpu);
	uint64_t deadline = arch_time_ns() + DIE_TIMEOUT_NS;
	while (!__atomic_load_n(&st->dead, __ATOMIC_ACQUIRE)) {
		if (arch_time_ns() > deadline) {
			/* Still running (its STARTING steps and PREPARE steps
			 * still done): it must not be restarted under its own
			 * feet.  A later online finishes the teardown once it
			 * has stopped after all, or refuses. */
			cpu_table[cpu].state = CPU_FAILED;
			st->stuck = true;
			snprintf(why, len, "CPU %u did not stop within %llu s; marked failed", cpu,
				 DIE_TIMEOUT_NS / 1000000000ULL);
			printk("cpuhp: %s\n", why);
			return -1;
		}
		sleep_ns(1000000);
	}
	prepare_down(st);
	return 0;
}

/* How long an online waits for a CPU that stopped late to finish stopping. */
#define STUCK_GRACE_MS 1000

static int do_cpu_up(struct cpuhp_cpu *st, char *why, size_t len)
{
	unsigned cpu = st->cpu;
	if (st->stuck) {
		/* What kept it running may just have ended (its idle loop looks
		 * again every tick): give it a moment before refusing, so that an
		 * online right after the cause is gone does not race its park. */
		for (unsigned ms = 0; ms < STUCK_GRACE_MS && !__atomic_load_n(&st->dead, __ATOMIC_ACQUIRE); ms++)
			sleep_ns(1000000);
		if (!__atomic_load_n(&st->dead, __ATOMIC_ACQUIRE)) {
			snprintf(why, len, "CPU %u has not stopped since it was taken offline; it cannot be started until it does", cpu);
			return -1;
		}
		/* It stopped late: finish what the offline left undone. */
		prepare_down(st);
		st->stuck = false;
	}
	for (unsigned i = 0; i < nr_order; i++) {
		int id = order[i];
		if (steps[id].section != CPUHP_PREPARE)
			continue;
		why[0] = 0;
		if (run_startup(st, id, why, len) != 0) {
			char msg[WHY_MAX + 64];
			snprintf(msg, sizeof(msg), "CPU %u: %s: %s", cpu, steps[id].name, why);
			strlcpy(why, msg, len);
			prepare_down(st);
			return -1;
		}
	}
	st->dead = false;
	sched_cpu_activate(cpu);
	if (arch_cpu_bringup(cpu, why, len) != 0) {
		sched_cpu_start_failed(cpu);
		prepare_down(st);
		return -1;
	}
	int r;
	if (ensure_thread(st) != 0) {
		r = why_fail(why, len, WHY_NOMEM, "out of memory for cpuhp/%u", cpu);
	} else if ((r = thread_request(st, REQ_UP, -1)) == 0) {
		cpuhp_ups++;
		return 0;
	} else {
		strlcpy(why, st->why, len);
	}
	/* Vetoed: back to offline (the thread already undid its steps). */
	printk("cpuhp: CPU %u stays offline: %s\n", cpu, why);
	char why2[WHY_MAX];
	kill_cpu(st, why2, sizeof(why2));
	return r; /* the veto's -cause (vigil/why.h) */
}

static int do_cpu_down(struct cpuhp_cpu *st, char *why, size_t len)
{
	thread_request(st, REQ_DOWN, -1);
	if (kill_cpu(st, why, len) != 0)
		return -1;
	cpuhp_downs++;
	return 0;
}

static int check_target(unsigned cpu, bool up, char *why, size_t len)
{
	if (!cpuhp_ready) {
		snprintf(why, len, "CPU hotplug is not initialised");
		return -1;
	}
	if (cpu >= nr_possible_cpus) {
		snprintf(why, len, "no CPU %u (%u possible)", cpu, nr_possible_cpus);
		return -1;
	}
	if (cpu == 0) {
		snprintf(why, len, up ? "CPU 0 is the boot CPU and always online" : "CPU 0 is the boot CPU and cannot go offline");
		return -1;
	}
	enum cpu_state s = cpu_table[cpu].state;
	if (s == CPU_ABSENT) {
		snprintf(why, len, "CPU %u is absent", cpu);
		return -1;
	}
	if (up && s == CPU_ONLINE) {
		snprintf(why, len, "CPU %u is already online", cpu);
		return -1;
	}
	if (!up && s != CPU_ONLINE) {
		snprintf(why, len, "CPU %u is already %s", cpu, cpu_state_name(s));
		return -1;
	}
	return 0;
}

/* One walk, up or down, under the hotplug write lock. */
static int hotplug_walk(unsigned cpu, bool up, char *why, size_t len)
{
	why[0] = 0;
	cpus_write_lock();
	mutex_lock(&cpuhp_mutex);
	int r = check_target(cpu, up, why, len);
	if (r == 0)
		r = up ? do_cpu_up(&cpus[cpu], why, len) : do_cpu_down(&cpus[cpu], why, len);
	mutex_unlock(&cpuhp_mutex);
	cpus_write_unlock();
	return r;
}

int cpu_up(unsigned cpu, char *why, size_t len)
{
	return hotplug_walk(cpu, true, why, len);
}

int cpu_down(unsigned cpu, char *why, size_t len)
{
	return hotplug_walk(cpu, false, why, len);
}

/*
 * A CPU the firmware inserted (ABSENT -> OFFLINE) or is about to eject
 * (OFFLINE or FAILED -> ABSENT), under the hotplug write lock so that no
 * walk sees it change.  A CPU is only made absent once it has stopped: an
 * online one must go through cpu_down() first, and one that did not stop
 * after its offline (stuck) is refused, since ejecting it would pull a
 * running CPU out from under the kernel.
 */
int cpu_set_present(unsigned cpu, bool present, char *why, size_t len)
{
	int r = -1;
	why[0] = 0;
	cpus_write_lock();
	mutex_lock(&cpuhp_mutex);
	enum cpu_state s = cpu < nr_possible_cpus ? cpu_table[cpu].state : CPU_ABSENT;
	if (!cpuhp_ready) {
		snprintf(why, len, "CPU hotplug is not initialised");
	} else if (cpu == 0 || cpu >= nr_possible_cpus) {
		snprintf(why, len, cpu ? "no CPU %u (%u possible)" : "CPU 0 is the boot CPU and always present",
			 cpu, nr_possible_cpus);
	} else if (present) {
		if (s != CPU_ABSENT) {
			snprintf(why, len, "CPU %u is already present (%s)", cpu, cpu_state_name(s));
		} else {
			cpu_table[cpu].state = CPU_OFFLINE;
			cpu_table[cpu].present_gen++;
			r = 0;
		}
	} else if (s == CPU_ONLINE || s == CPU_ABSENT) {
		snprintf(why, len, "CPU %u is %s", cpu, cpu_state_name(s));
	} else if (cpus[cpu].stuck && !__atomic_load_n(&cpus[cpu].dead, __ATOMIC_ACQUIRE)) {
		snprintf(why, len, "CPU %u has not stopped since it was taken offline", cpu);
	} else {
		if (cpus[cpu].stuck) {
			prepare_down(&cpus[cpu]);
			cpus[cpu].stuck = false;
		}
		cpu_table[cpu].state = CPU_ABSENT;
		r = 0;
	}
	mutex_unlock(&cpuhp_mutex);
	cpus_write_unlock();
	return r;
}

/* ---- dynamic states ---- */

struct step_call {
	int id;
	bool up;
};

static void starting_step_ipi(void *arg)
{
	struct step_call *c = arg;
	struct cpuhp_cpu *st = &cpus[smp_processor_id()];
	if (c->up) {
		/* Smaller than WHY_MAX: a cross-CPU call runs on the stack it
		 * interrupted, and a STARTING step's reason is short. */
		char why[64] = "";
		run_startup(st, c->id, why, sizeof(why));
	} else {
		run_teardown(st, c->id);
	}
}

/* Run (or undo) one step on one online CPU where it belongs. */
static int step_on_cpu(unsigned cpu, int id, bool up, char *why, size_t len)
{
	struct cpuhp_cpu *st = &cpus[cpu];
	if (steps[id].section == CPUHP_STARTING) {
		struct step_call c = { id, up };
		smp_call_function_single(cpu, starting_step_ipi, &c, true);
		return 0;
	}
	if (steps[id].section == CPUHP_ONLINE) {
		int r = thread_request(st, up ? REQ_STEP_UP : REQ_STEP_DOWN, id);
		if (r)
			strlcpy(why, st->why, len);
		return r;
	}
	/* PREPARE: on the control CPU (here). */
	if (up)
		return run_startup(st, id, why, len);
	run_teardown(st, id);
	return 0;
}

int cpuhp_setup_state(const char *name, cpuhp_startup_fn startup, cpuhp_teardown_fn teardown, char *why,
		      size_t len)
{
	why[0] = 0;
	cpus_read_lock();
	mutex_lock(&cpuhp_mutex);
	int id = cpuhp_ready ? add_step(name, CPUHP_ONLINE, startup, teardown) : -1;
	if (!cpuhp_ready) {
		/* cpuhp_init marks every step done on the boot CPUs: a state
		 * registered earlier would get teardowns without startups. */
		snprintf(why, len, "CPU hotplug is not initialised yet");
	} else if (id < 0) {
		snprintf(why, len, "no free hotplug state (%d in use)", CPUHP_MAX_STATES);
	} else {
		for (unsigned c = 0; c < nr_possible_cpus; c++) {
			if (!cpu_is_online(c))
				continue;
			char w[200] = "";
			if (step_on_cpu(c, id, true, w, sizeof(w)) == 0)
				continue;
			snprintf(why, len, "%s on CPU %u: %s", name, c, w);
			for (unsigned d = 0; d < c; d++)
				if (cpu_is_online(d))
					step_on_cpu(d, id, false, w, sizeof(w));
			del_step(id);
			id = -1;
			break;
		}
	}
	mutex_unlock(&cpuhp_mutex);
	cpus_read_unlock();
	return id;
}

void cpuhp_remove_state(int id)
{
	if (id < 0 || id >= CPUHP_MAX_STATES)
		return;
	cpus_read_lock();
	mutex_lock(&cpuhp_mutex);
	if (steps[id].used) {
		char w[64];
		for (unsigned c = 0; c < nr_possible_cpus; c++)
			if (cpu_is_online(c))
				step_on_cpu(c, id, false, w, sizeof(w));
		del_step(id);
	}
	mutex_unlock(&cpuhp_mutex);
	cpus_read_unlock();
}

/* Used by the selftests to register a STARTING state. */
int cpuhp_setup_starting_state(const char *name, cpuhp_startup_fn startup, cpuhp_teardown_fn teardown)
{
	cpus_read_lock();
	mutex_lock(&cpuhp_mutex);
	int id = cpuhp_ready ? add_step(name, CPUHP_STARTING, startup, teardown) : -1;
	if (id >= 0) {
		char w[64];
		for (unsigned c = 0; c < nr_possible_cpus; c++)
			if (cpu_is_online(c))
				step_on_cpu(c, id, true, w, sizeof(w));
	}
	mutex_unlock(&cpuhp_mutex);
	cpus_read_unlock();
	return id;
}

/* Registered without calling on the CPUs online now: the caller set them
 * up itself (or it runs before cpuhp_init, which counts every state done on
 * the CPUs up at boot).  Linux's cpuhp_setup_state_nocalls(). */
int cpuhp_setup_state_nocalls(const char *name, cpuhp_startup_fn startup, cpuhp_teardown_fn teardown)
{
	bool ready = cpuhp_ready;
	if (ready)
		cpus_read_lock();
	mutex_lock(&cpuhp_mutex);
	int id = add_step(name, CPUHP_ONLINE, startup, teardown);
	if (id >= 0 && ready)
		for (unsigned c = 0; c < nr_possible_cpus; c++)
			if (cpu_is_online(c))
				cpus[c].done |= 1u << id;
	mutex_unlock(&cpuhp_mutex);
	if (ready)
		cpus_read_unlock();
	return id;
}

const char *cpuhp_state_name(unsigned cpu)
{
	if (cpu >= nr_possible_cpus)
		return "none";
	return cpu_is_online(cpu) ? "online" : "offline";
}

void cpuhp_init(void)
{
	/* CPUs already up at boot have been through all of it (the boot path
	 * ran the equivalent steps): mark them so and start their threads. */
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		struct cpuhp_cpu *st = &cpus[c];
		st->cpu = c;
		init_completion(&st->kick);
		init_completion(&st->finished);
		if (!cpu_is_online(c))
			continue;
		for (unsigned i = 0; i < nr_order; i++)
			st->done |= 1u << order[i];
		if (ensure_thread(st) != 0)
			printk("cpuhp: out of memory for cpuhp/%u\n", c);
	}
	cpuhp_ready = true;
}

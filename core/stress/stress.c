/*
 * `stress [ops=<n>] [seed=<s>]`: random CPU hotplug, VM create/destroy/run,
 * simulated suspend and injected failures, with the system invariants
 * (`check`) run after every step (docs/design.md sections 3-6).
 *
 * Two threads work at once, because the bugs this hunts are races:
 *  - the console thread (this command) does the operations whose outcome it
 *    can predict exactly: hotplug, its own VMs, suspend, injected failures.
 *    It alone changes the set of online CPUs, so an error from any of its
 *    operations is a violation unless the step planted it.
 *  - a helper kthread ("stress/vm") creates, runs and destroys its own VMs in
 *    a loop on whatever CPU the scheduler gives it, racing the hotplug
 *    writer for cpus_read_lock and the usage lock.  Its only expected error
 *    is running a guest on a CPU that went offline under it.
 * Injected failures must hit the one operation the console thread aims them
 * at, so the helper is parked (between two of its operations, holding no
 * lock) for the duration of such a step; that also freezes the usage count
 * so the step knows whether the injection lands in `vm create` (count 0) or
 * in `cpu online` (count > 0).
 *
 * The console thread's choices come from a PRNG seeded with seed=, so the
 * sequence of its operations is reproducible; the helper's interleaving with
 * them is not (it is timing).
 *
 * What the user set up is not stress's: VMs that exist before the run are
 * left alone (and counted when checking that the run cleaned up after
 * itself); injection points stress arms and clears itself, so it refuses to
 * start while one is armed rather than clear the user's or be hit by it.
 * A VM that cannot be created for want of memory (the user's VMs may hold
 * it all) is resource exhaustion, counted as out_of_memory, not a violation.
 */
#include <vigil/console_input.h>
#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/inject.h>
#include <vigil/lockdep.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/suspend.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>
#include <vigil/virt.h>
#include <vigil/why.h>

#define MAIN_MAX_VMS   4
#define LIVE_MAX_VMS   3    /* live VMs of the console thread; the first one is kept running */
#define HELPER_MAX_VMS 3
#define MAX_PRINTED    20   /* violation lines printed; the rest are counted */

/* xorshift64*: small, good enough to spread choices, and the same sequence
 * for the same seed on every machine. */
static uint64_t prng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static unsigned prng_below(uint64_t *s, unsigned n)
{
	return n ? (unsigned)((prng_next(s) >> 32) % n) : 0;
}

static uint64_t prng_seed(uint64_t seed)
{
	/* splitmix64 step: a zero state would stay zero in xorshift. */
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z ? z : 1;
}

struct vmset {
	unsigned id[MAIN_MAX_VMS > HELPER_MAX_VMS ? MAIN_MAX_VMS : HELPER_MAX_VMS];
	unsigned n;
};

static void vmset_remove(struct vmset *v, unsigned i)
{
	v->id[i] = v->id[--v->n];
}

struct stress {
	struct shell_ctx *ctx;
	uint64_t rng;
	uint64_t op;                 /* current step, for messages */
	unsigned violations;         /* console thread's */
	unsigned expected;           /* planted errors seen as planned */
	unsigned out_of_memory;      /* console thread's VM creates refused for memory */
	unsigned printed;
	struct vmset vms;
	bool have_virt;
	/* live VMs (live=1): id, vCPUs, what the thread believes its state is */
	bool live;
	unsigned live_id[LIVE_MAX_VMS], live_vcpus[LIVE_MAX_VMS];
	int live_state[LIVE_MAX_VMS];
	unsigned n_live;
	unsigned live_expected;      /* live-VM misuse refused as predicted */
	/* helper */
	struct task *helper;
	uint64_t helper_rng;
	volatile bool stop;
	volatile bool pause_req;
	volatile bool paused;
	volatile unsigned helper_violations;
	volatile unsigned helper_expected;
	volatile unsigned helper_out_of_memory;
	volatile unsigned long helper_ops;
	struct vmset helper_vms;
	/* counts per kind, for the summary */
	unsigned long n_hotplug, n_create, n_destroy, n_run, n_suspend, n_inject, n_live_ops;
	/* where the time goes (ns), to explain the rate under emulation */
	uint64_t t_hotplug, t_vm, t_suspend, t_inject, t_check;
};

static void violation(struct stress *st, const char *fmt, ...) __printf(2, 3);
static void violation(struct stress *st, const char *fmt, ...)
{
	char msg[WHY_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st->violations++;
	/* Also in the log, so the place in the boot's history is visible. */
	printk("stress: violation at op %lu: %s\n", (unsigned long)st->op, msg);
	if (st->printed++ < MAX_PRINTED)
		shell_printf(st->ctx, "stress: violation op=%lu %s\n", (unsigned long)st->op, msg);
}

/* ---- the helper thread ---- */

static void helper_violation(struct stress *st, const char *what, const char *why)
{
	__atomic_add_fetch(&st->helper_violations, 1, __ATOMIC_RELAXED);
	printk("stress: helper violation: %s: %s\n", what, why);
}

static void helper_step(struct stress *st)
{
	char why[WHY_MAX];
	struct vmset *v = &st->helper_vms;
	unsigned pick = prng_below(&st->helper_rng, 10);
	if (v->n == 0 || (pick < 3 && v->n < HELPER_MAX_VMS)) {
		unsigned id;
		int r = vm_create(&id, why, sizeof(why));
		if (r == 0)
			v->id[v->n++] = id;
		else if (why_cause(r) == WHY_NOMEM) /* resource exhaustion, not a fault */
			__atomic_add_fetch(&st->helper_out_of_memory, 1, __ATOMIC_RELAXED);
		else
			helper_violation(st, "vm create", why);
	} else if (pick < 6) {
		unsigned i = prng_below(&st->helper_rng, v->n);
		if (vm_destroy(v->id[i], why, sizeof(why)) != 0)
			helper_violation(st, "vm destroy", why);
		vmset_remove(v, i);
	} else {
		/* Any possible CPU, online or not right now: the console thread
		 * may be taking it down as we speak. */
		unsigned cpu = prng_below(&st->helper_rng, nr_possible_cpus);
		unsigned i = prng_below(&st->helper_rng, v->n);
		struct vcpu_run run = { .guest = GUEST_NORMAL, .max_exits = 1 + prng_below(&st->helper_rng, 4) };
		char off[48], absent[48];
		snprintf(off, sizeof(off), "cpu %u is offline", cpu);
		snprintf(absent, sizeof(absent), "cpu %u is absent", cpu);
		if (vm_run(v->id[i], cpu, &run, why, sizeof(why)) != 0) {
			if (!strcmp(why, off) || !strcmp(why, absent))
				__atomic_add_fetch(&st->helper_expected, 1, __ATOMIC_RELAXED);
			else
				helper_violation(st, "vm run", why);
		} else if (run.guest_failed) {
			helper_violation(st, "vm run", run.why);
			vmset_remove(v, i); /* vm_run destroyed it */
		}
	}
}

static void helper_fn(void *arg)
{
	struct stress *st = arg;
	/* Like a VMM's vCPU threads: stopped by the freezer across a suspend,
	 * never in the middle of an operation. */
	set_freezable();
	while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
		try_to_freeze();
		if (__atomic_load_n(&st->pause_req, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&st->paused, true, __ATOMIC_RELEASE);
			while (__atomic_load_n(&st->pause_req, __ATOMIC_ACQUIRE) &&
			       !__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE))
				sleep_ns(1000000);
			__atomic_store_n(&st->paused, false, __ATOMIC_RELEASE);
			continue;
		}
		if (st->have_virt)
			helper_step(st);
		else
			sleep_ns(1000000);
		__atomic_add_fetch(&st->helper_ops, 1, __ATOMIC_RELAXED);
	}
	char why[WHY_MAX];
	while (st->helper_vms.n) {
		if (vm_destroy(st->helper_vms.id[0], why, sizeof(why)) != 0)
			helper_violation(st, "vm destroy at exit", why);
		vmset_remove(&st->helper_vms, 0);
	}
	freezer_exit();
}

static void helper_pause(struct stress *st)
{
	if (!st->helper)
		return;
	__atomic_store_n(&st->pause_req, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&st->paused, __ATOMIC_ACQUIRE))
		sleep_ns(200000);
}

static void helper_resume(struct stress *st)
{
	if (!st->helper)
		return;
	__atomic_store_n(&st->pause_req, false, __ATOMIC_RELEASE);
	while (__atomic_load_n(&st->paused, __ATOMIC_ACQUIRE))
		sleep_ns(200000);
}

/* ---- the console thread's operations ---- */

/* A non-boot CPU that hotplug may move (online or offline, not absent or
 * failed), or 0 when there is none. */
static unsigned pick_hotplug_cpu(struct stress *st)
{
	unsigned cand[CONFIG_MAX_CPUS], n = 0;
	for (unsigned c = 1; c < nr_possible_cpus; c++)
		if (cpu_table[c].state == CPU_ONLINE || cpu_table[c].state == CPU_OFFLINE)
			cand[n++] = c;
	return n ? cand[prng_below(&st->rng, n)] : 0;
}

static unsigned pick_online_cpu(struct stress *st)
{
	unsigned cand[CONFIG_MAX_CPUS], n = 0;
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		if (cpu_is_online(c))
			cand[n++] = c;
	return cand[prng_below(&st->rng, n)];
}

static void op_hotplug(struct stress *st, unsigned cpu)
{
	char why[WHY_MAX];
	bool up = !cpu_is_online(cpu);
	st->n_hotplug++;
	if ((up ? cpu_up(cpu, why, sizeof(why)) : cpu_down(cpu, why, sizeof(why))) != 0)
		violation(st, "cpu %s %u: %s", up ? "online" : "offline", cpu, why);
	else if (cpu_is_online(cpu) != up)
		violation(st, "cpu %s %u succeeded but the CPU is %s", up ? "online" : "offline", cpu,
			  cpu_state_name(cpu_table[cpu].state));
}

static void op_create(struct stress *st)
{
	char why[WHY_MAX];
	unsigned id;
	st->n_create++;
	int r = vm_create(&id, why, sizeof(why));
	if (r == 0)
		st->vms.id[st->vms.n++] = id;
	else if (why_cause(r) == WHY_NOMEM)
		st->out_of_memory++;
	else
		violation(st, "vm create: %s", why);
}

static void op_destroy(struct stress *st)
{
	char why[WHY_MAX];
	unsigned i = prng_below(&st->rng, st->vms.n);
	st->n_destroy++;
	if (vm_destroy(st->vms.id[i], why, sizeof(why)) != 0)
		violation(st, "vm destroy %u: %s", st->vms.id[i], why);
	vmset_remove(&st->vms, i);
}

static void op_run(struct stress *st)
{
	char why[WHY_MAX];
	unsigned i = prng_below(&st->rng, st->vms.n);
	unsigned cpu = pick_online_cpu(st);
	struct vcpu_run run = { .guest = GUEST_NORMAL, .max_exits = 1 + prng_below(&st->rng, 8) };
	st->n_run++;
	if (vm_run(st->vms.id[i], cpu, &run, why, sizeof(why)) != 0) {
		violation(st, "vm run %u cpu=%u: %s", st->vms.id[i], cpu, why);
	} else if (run.guest_failed) {
		violation(st, "vm run %u cpu=%u: guest stopped: %s", st->vms.id[i], cpu, run.why);
		vmset_remove(&st->vms, i);
	} else if (run.exits != run.max_exits) {
		violation(st, "vm run %u cpu=%u: %lu exits, asked for %lu", st->vms.id[i], cpu,
			  (unsigned long)run.exits, (unsigned long)run.max_exits);
	}
}

static void op_suspend(struct stress *st)
{
	char why[WHY_MAX];
	struct suspend_times t;
	bool was[CONFIG_MAX_CPUS];
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		was[c] = cpu_is_online(c);
	st->n_suspend++;
	if (suspend_cycle(false, why, sizeof(why), &t) != 0) {
		violation(st, "suspend sim: %s", why);
		return;
	}
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		if (cpu_is_online(c) != was[c])
			violation(st, "suspend sim: cpu %u was %s before and is %s after", c,
				  was[c] ? "online" : "offline", cpu_state_name(cpu_table[c].state));
}

static bool arm(struct stress *st, const char *name, unsigned cpu, int64_t count)
{
	struct inject_point *p = inject_find(name);
	if (!p) {
		violation(st, "no injection point '%s'", name);
		return false;
	}
	p->cpu = (int)cpu;
	p->remaining = count;
	__atomic_store_n(&p->armed, 1, __ATOMIC_RELEASE);
	st->n_inject++;
	return true;
}

/* The injection of a count=1 point must have been consumed by the step. */
static void expect_consumed(struct stress *st, const char *name)
{
	struct inject_point *p = inject_find(name);
	if (p && __atomic_load_n(&p->armed, __ATOMIC_ACQUIRE))
		violation(st, "injection %s still armed after the operation it was aimed at", name);
}

/* cpu_up that must fail for cause, leaving cpu offline. */
static void expect_up_refused(struct stress *st, unsigned cpu, enum why_cause cause, const char *what)
{
	char why[WHY_MAX];
	int r = cpu_up(cpu, why, sizeof(why));
	if (r == 0) {
		violation(st, "%s: cpu online %u succeeded", what, cpu);
	} else if (why_cause(r) != cause) {
		violation(st, "%s: cpu online %u refused with cause %d ('%s'), expected %d", what, cpu,
			  (int)why_cause(r), why, (int)cause);
	} else if (cpu_table[cpu].state != CPU_OFFLINE) {
		violation(st, "%s: cpu online %u refused but the CPU is %s", what, cpu,
			  cpu_state_name(cpu_table[cpu].state));
	} else {
		st->expected++;
	}
}

/* vm create that must fail for cause, with a message containing want (the
 * CPU it names), rolled back.  false: it ran out of memory first, so the
 * injection may not have been reached. */
static bool expect_create_refused(struct stress *st, unsigned before, enum why_cause cause, const char *want,
				  const char *what)
{
	char why[WHY_MAX];
	unsigned id;
	int r = vm_create(&id, why, sizeof(why));
	if (r == 0) {
		violation(st, "%s: vm create succeeded", what);
		if (st->vms.n < MAIN_MAX_VMS)
			st->vms.id[st->vms.n++] = id;
		else
			vm_destroy(id, why, sizeof(why));
	} else if (why_cause(r) == WHY_NOMEM) {
		st->out_of_memory++;
		return false;
	} else if (why_cause(r) != cause || !strstr(why, want)) {
		violation(st, "%s: vm create refused with '%s', expected '%s'", what, why, want);
	} else if (virt_usage_count() != before) {
		violation(st, "%s: vm create refused but usage went %u -> %u", what, before, virt_usage_count());
	} else {
		st->expected++;
	}
	return true;
}

/* Take cpu offline for a step that needs it so; false if it would not go. */
static bool make_offline(struct stress *st, unsigned cpu)
{
	char why[WHY_MAX];
	if (!cpu_is_online(cpu))
		return true;
	if (cpu_down(cpu, why, sizeof(why)) != 0) {
		violation(st, "cpu offline %u: %s", cpu, why);
		return false;
	}
	return true;
}

static void op_inject(struct stress *st)
{
	char want[96];
	helper_pause(st);
	unsigned usage = virt_usage_count();
	unsigned kind = prng_below(&st->rng, 3);
	unsigned cpu = pick_hotplug_cpu(st);
	if (!cpu && kind != 0)
		kind = 0;       /* one CPU: only the enable failure in vm create */
	if (kind == 0 && !usage) {
		/* The first VM's fan-out fails on one CPU: all rolled back. */
		unsigned c = pick_online_cpu(st);
		snprintf(want, sizeof(want), "cpu %u: enable failed (injected)", c);
		if (arm(st, "virt_enable_fail", c, 1) && expect_create_refused(st, 0, WHY_INJECTED, want, "virt_enable_fail"))
			expect_consumed(st, "virt_enable_fail");
	} else if (kind == 0) {
		/* VMs exist: the failure lands in the online's enable, a veto. */
		if (cpu && make_offline(st, cpu) && arm(st, "virt_enable_fail", cpu, 1)) {
			expect_up_refused(st, cpu, WHY_INJECTED, "virt_enable_fail");
			expect_consumed(st, "virt_enable_fail");
		}
	} else if (kind == 1) {
		if (make_offline(st, cpu) && arm(st, "cpuhp_online_fail", cpu, 1)) {
			expect_up_refused(st, cpu, WHY_INJECTED, "cpuhp_online_fail");
			expect_consumed(st, "cpuhp_online_fail");
		}
	} else if (make_offline(st, cpu) && arm(st, "cr4_mask", cpu, 0)) {
		/* An incompatible CPU: vetoed while VMs exist; with none it comes
		 * online and the next first VM is refused naming it. */
		if (usage) {
			expect_up_refused(st, cpu, WHY_INCOMPATIBLE, "cr4_mask");
		} else {
			char why[WHY_MAX];
			if (cpu_up(cpu, why, sizeof(why)) != 0) {
				violation(st, "cr4_mask without VMs: cpu online %u: %s", cpu, why);
			} else {
				snprintf(want, sizeof(want), "cpu %u: cr4_reserved_mask", cpu);
				expect_create_refused(st, 0, WHY_INCOMPATIBLE, want, "cr4_mask");
			}
		}
	}
	inject_clear_all();
	helper_resume(st);
}

/* ---- live VMs: the console thread's, whose every outcome it predicts ---- */

static void live_remove(struct stress *st, unsigned i)
{
	st->n_live--;
	st->live_id[i] = st->live_id[st->n_live];
	st->live_vcpus[i] = st->live_vcpus[st->n_live];
	st->live_state[i] = st->live_state[st->n_live];
}

static bool live_create(struct stress *st, bool start)
{
	char why[WHY_MAX];
	unsigned id, n = 1 + prng_below(&st->rng, nr_possible_cpus < 4 ? nr_possible_cpus : 4);
	int r = vm_create_live(&id, n, 0, why, sizeof(why));
	if (r != 0) {
		if (why_cause(r) == WHY_NOMEM)
			st->out_of_memory++;
		else
			violation(st, "vm create vcpus=%u: %s", n, why);
		return false;
	}
	unsigned i = st->n_live++;
	st->live_id[i] = id;
	st->live_vcpus[i] = n;
	st->live_state[i] = VM_STOPPED;
	if (start) {
		if (vm_start(id, why, sizeof(why)) != 0)
			violation(st, "vm start %u: %s", id, why);
		else
			st->live_state[i] = VM_RUNNING;
	}
	return true;
}

/* The operation, its expected outcome and the state it leaves. */
static void live_expect(struct stress *st, unsigned i, const char *what, int r, const char *why, bool want_ok,
			int new_state)
{
	if (want_ok && r != 0)
		violation(st, "vm %s %u: %s", what, st->live_id[i], why);
	else if (!want_ok && r == 0)
		violation(st, "vm %s %u (%s) succeeded", what, st->live_id[i], vm_state_name(st->live_state[i]));
	else if (!want_ok)
		st->live_expected++;
	else
		st->live_state[i] = new_state;
	int real = vm_live_state(st->live_id[i]);
	if (real != st->live_state[i])
		violation(st, "vm %u is %s after vm %s, expected %s", st->live_id[i], vm_state_name(real), what,
			  vm_state_name(st->live_state[i]));
}

static void op_live(struct stress *st)
{
	char why[WHY_MAX];
	st->n_live_ops++;
	unsigned pick = prng_below(&st->rng, 8);
	if (st->n_live == 0 || (pick == 0 && st->n_live < LIVE_MAX_VMS)) {
		live_create(st, prng_below(&st->rng, 2));
		return;
	}
	unsigned i = prng_below(&st->rng, st->n_live);
	unsigned id = st->live_id[i];
	int s = st->live_state[i];
	bool anchor = i == 0;   /* kept running (or paused) throughout */
	switch (pick) {
	case 1:
		live_expect(st, i, "start", vm_start(id, why, sizeof(why)), why, s == VM_STOPPED, VM_RUNNING);
		break;
	case 2:
		if (anchor)
			break;
		live_expect(st, i, "stop", vm_stop(id, why, sizeof(why)), why, s != VM_STOPPED, VM_STOPPED);
		break;
	case 3:
		live_expect(st, i, "pause", vm_pause(id, why, sizeof(why)), why, s == VM_RUNNING, VM_PAUSED);
		break;
	case 4:
	case 5:
		live_expect(st, i, "resume", vm_resume(id, why, sizeof(why)), why, s == VM_PAUSED, VM_RUNNING);
		break;
	case 6: {
		/* Any possible CPU or none: refused exactly when it takes no guests. */
		unsigned v = prng_below(&st->rng, st->live_vcpus[i]);
		int cpu = (int)prng_below(&st->rng, nr_possible_cpus + 1) - 1;
		bool ok = cpu < 0 || vcpu_cpu_usable((unsigned)cpu);
		int r = vcpu_pin(id, v, cpu, why, sizeof(why));
		if (ok && r != 0)
			violation(st, "vcpu pin %u.%u cpu=%d: %s", id, v, cpu, why);
		else if (!ok && r == 0)
			violation(st, "vcpu pin %u.%u cpu=%d (%s) succeeded", id, v, cpu,
				  cpu_state_name(cpu_table[cpu].state));
		else if (!ok)
			st->live_expected++;
		break;
	}
	default:
		if (anchor)
			break;
		if (vm_destroy(id, why, sizeof(why)) != 0)
			violation(st, "vm destroy %u (%s): %s", id, vm_state_name(s), why);
		live_remove(st, i);
		break;
	}
}

static void step(struct stress *st)
{
	unsigned roll = prng_below(&st->rng, 100);
	unsigned cpu = pick_hotplug_cpu(st);
	uint64_t t0 = arch_time_ns();
	uint64_t *acct;
	if (roll < 30 && cpu) {
		acct = &st->t_hotplug;
		op_hotplug(st, cpu);
	} else if (st->have_virt && st->live && roll < 50) {
		acct = &st->t_vm;
		op_live(st);
	} else if (st->have_virt && roll < 75) {
		acct = &st->t_vm;
		bool can_create = st->vms.n < MAIN_MAX_VMS;
		if (roll < 45 && can_create)
			op_create(st);
		else if (roll < 58 && st->vms.n)
			op_destroy(st);
		else if (st->vms.n)
			op_run(st);
		else
			op_create(st);
	} else if (roll < 80) {
		acct = &st->t_suspend;
		op_suspend(st);
	} else if (st->have_virt) {
		acct = &st->t_inject;
		op_inject(st);
	} else if (cpu) {
		acct = &st->t_hotplug;
		op_hotplug(st, cpu);
	} else {
		acct = &st->t_suspend;
		op_suspend(st);
	}
	*acct += arch_time_ns() - t0;
}

/* ---- the command ---- */

static void cleanup(struct stress *st, const bool *was_online)
{
	char why[WHY_MAX];
	inject_clear_all();
	if (st->helper) {
		__atomic_store_n(&st->stop, true, __ATOMIC_RELEASE);
		kthread_join(st->helper);
		st->helper = NULL;
	}
	while (st->vms.n) {
		if (vm_destroy(st->vms.id[0], why, sizeof(why)) != 0)
			violation(st, "cleanup: vm destroy %u: %s", st->vms.id[0], why);
		vmset_remove(&st->vms, 0);
	}
	while (st->n_live) {
		if (vm_destroy(st->live_id[0], why, sizeof(why)) != 0)
			violation(st, "cleanup: vm destroy %u: %s", st->live_id[0], why);
		live_remove(st, 0);
	}
	/* Back to the online set the run started with, in both directions. */
	for (unsigned c = 1; c < nr_possible_cpus; c++) {
		if (was_online[c] && !cpu_is_online(c) && cpu_up(c, why, sizeof(why)) != 0)
			violation(st, "cleanup: cpu online %u: %s", c, why);
		if (!was_online[c] && cpu_is_online(c) && cpu_down(c, why, sizeof(why)) != 0)
			violation(st, "cleanup: cpu offline %u: %s", c, why);
	}
}

static int cmd_stress(struct shell_ctx *ctx, int argc, char **argv)
{
	uint64_t ops = 1000, seed = 1, live = 1;
	const struct shell_opt opts[] = {
		SHELL_OPT_RANGE("ops", 1, 10000000, &ops),
		SHELL_OPT_NUM("seed", &seed),
		SHELL_OPT_RANGE("live", 0, 1, &live),
	};
	if (shell_parse_opts(ctx, argc - 1, argv + 1, opts, ARRAY_SIZE(opts)))
		return -1;
	const struct inject_point *armed = inject_first_armed();
	if (armed)
		return shell_error(ctx, "injection point '%s' is armed: stress arms and clears its own (inject clear "
				   "first)", armed->name);
	struct stress *st = kzalloc(sizeof(*st));
	bool *was_online = kzalloc(sizeof(bool) * CONFIG_MAX_CPUS);
	if (!st || !was_online) {
		kfree(st);
		kfree(was_online);
		return shell_error(ctx, "out of memory");
	}
	st->ctx = ctx;
	st->rng = prng_seed(seed);
	st->helper_rng = prng_seed(seed ^ 0x5EED5EED5EED5EEDULL);
	st->have_virt = virt_backend_name() != NULL;
	st->live = live && st->have_virt;
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		was_online[c] = cpu_is_online(c);
	unsigned user_vms = vm_count();   /* the user's, left alone */

	struct lockdep_stats ld0, ld1;
	lockdep_get_stats(&ld0);
	char why[WHY_MAX];
	if (invariants_check(why, sizeof(why)) != 0)
		violation(st, "before the first op: %s", why);
	/* The live VM that runs from the first step to the last. */
	if (st->live && !live_create(st, true))
		st->live = false;
	uint64_t t0 = arch_time_ns();
	st->helper = kthread_run(helper_fn, st, TASK_ANY_CPU, "stress/vm");
	if (!st->helper)
		violation(st, "out of memory for the helper thread");

	uint64_t tenth = ops / 10 ? ops / 10 : 1;
	uint64_t requested = ops;
	for (st->op = 1; st->op <= ops; st->op++) {
		if (console_interrupted()) {
			ops = st->op - 1; /* steps done; the rest of the report is about them */
			break;
		}
		step(st);
		uint64_t tc = arch_time_ns();
		if (invariants_check(why, sizeof(why)) != 0)
			violation(st, "check: %s", why);
		st->t_check += arch_time_ns() - tc;
		if (st->op % tenth == 0 || st->op == ops) {
			unsigned online = 0;
			for (unsigned c = 0; c < nr_possible_cpus; c++)
				online += cpu_is_online(c);
			lockdep_get_stats(&ld1);
			shell_printf(ctx,
				     "stress: %lu%% ops=%lu violations=%u helper_violations=%u lockdep_violations=%u online=%u "
				     "vms=%u usage=%u helper_ops=%lu\n",
				     (unsigned long)(st->op * 100 / ops), (unsigned long)st->op, st->violations,
				     st->helper_violations, ld1.violations - ld0.violations, online, vm_count(),
				     virt_usage_count(), st->helper_ops);
		}
	}
	cleanup(st, was_online);
	uint64_t ns = arch_time_ns() - t0;
	if (invariants_check(why, sizeof(why)) != 0)
		violation(st, "after cleanup: %s", why);
	if (vm_count() != user_vms)
		violation(st, "after cleanup: %u VMs, %u before the run", vm_count(), user_vms);

	lockdep_get_stats(&ld1);
	unsigned ld = ld1.violations - ld0.violations;
	/* Lockdep switches itself off when a table overflows; a run it stopped
	 * watching half-way proves nothing about lock order. */
	if (ld0.enabled && !ld1.enabled)
		violation(st, "lockdep turned itself off during the run");
	unsigned total = st->violations + st->helper_violations + ld;
	uint64_t ms = ns / 1000000 ? ns / 1000000 : 1;
	shell_printf(ctx,
		     "hotplug=%lu create=%lu destroy=%lu run=%lu suspend=%lu inject=%lu live=%lu live_expected=%u expected_errors=%u "
		     "out_of_memory=%u helper_ops=%lu helper_expected=%u helper_out_of_memory=%u helper_violations=%u "
		     "lockdep_violations=%u lockdep=%s ms=%lu ops_per_s=%lu\n",
		     st->n_hotplug, st->n_create, st->n_destroy, st->n_run, st->n_suspend, st->n_inject, st->n_live_ops,
		     st->live_expected, st->expected,
		     st->out_of_memory, st->helper_ops, st->helper_expected, st->helper_out_of_memory,
		     st->helper_violations, ld, ld1.enabled ? "on" : "off",
		     (unsigned long)ms,
		     (unsigned long)(ops * 1000 / ms));
	shell_printf(ctx, "ms_hotplug=%lu ms_vm=%lu ms_suspend=%lu ms_inject=%lu ms_check=%lu\n",
		     (unsigned long)(st->t_hotplug / 1000000), (unsigned long)(st->t_vm / 1000000),
		     (unsigned long)(st->t_suspend / 1000000), (unsigned long)(st->t_inject / 1000000),
		     (unsigned long)(st->t_check / 1000000));
	shell_printf(ctx, "ops=%lu seed=%lu violations=%u\n", (unsigned long)ops, (unsigned long)seed, total);
	kfree(was_online);
	kfree(st);
	if (total)
		return shell_error(ctx, "stress: %u violations (%u lockdep)", total, ld);
	if (ops < requested)
		return shell_error(ctx, "interrupted (Ctrl-C) after %lu of %lu steps; cleaned up",
				   (unsigned long)ops, (unsigned long)requested);
	return 0;
}
SHELL_CMD(stress, "stress [ops=<n>] [seed=<s>] [live=0|1]", .run = cmd_stress, .max_args = SHELL_ARGS_ANY,
	  .help = "Random CPU online/offline, vm create/destroy/run, simulated suspend and injected\n"
		   "failures (ops steps, choices from seed), live VMs (live=1, the default: one kept running\n"
		   "throughout, others created, started, stopped, paused, resumed, pinned and destroyed),\n"
		   "while a helper thread creates, runs and\n"
		   "destroys VMs at the same time.  Every invariant of `check` is verified after every\n"
		   "step; lockdep reports count as violations.  Leaves the user's VMs alone and removes its\n"
		   "own; refuses to start while an injection point is armed.");

/*
 * The virtualization usage core (docs/design.md section 4), modelled on Linux KVM
 * after kvm_usage_count got its own mutex:
 *
 *     cpus_read_lock()         the CPU-hotplug lock (per-CPU rwsem)
 *       usage_lock (mutex)     protects usage_count and every enable/disable
 *     vm_list_lock (mutex)     the VM list only; never held around enabling
 *
 * Invariant, checked by `check`: on every online CPU, enabled ==
 * (usage_count > 0), and the hardware agrees; offline CPUs are disabled.
 * One known exception, reported as degraded rather than violated: the boot
 * CPU after its re-enable on resume failed (no hotplug can veto it as it
 * does an AP's), off while VMs exist, with the reason kept in
 * virt_cpus[].degraded until an enable there succeeds (`virt retry`, the
 * next resume) or the count drops to 0.
 *
 * Why not vm_list_lock for the count: notifiers that run under the hotplug
 * lock take vm_list_lock (Linux's kvmclock cpufreq notifier), so enabling
 * under vm_list_lock would order vm_list_lock -> cpus_read_lock against
 * cpus_read_lock -> vm_list_lock: a deadlock once a hotplug writer waits.
 * The virt_lock_order self-test replays that old design with its own locks
 * (core/virt/lock_order_replay.c) and expects lockdep to report the cycle.
 *
 * Virtualization owns its life cycle (docs/design.md section 4): virt_init
 * registers its hotplug state, syscore suspend/resume, reboot notifier and
 * emergency callback through the interfaces those subsystems offer to any
 * user (include/vigil/cpuhp.h, syscore.h, reboot.h, emergency.h); none of
 * them names virtualization.
 */
#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/cmdline.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/emergency.h>
#include <vigil/inject.h>
#include <vigil/mm.h>
#include <vigil/mutex.h>
#include <vigil/printk.h>
#include <vigil/reboot.h>
#include <vigil/smp.h>
#include <vigil/string.h>
#include <vigil/syscore.h>
#include <vigil/virt.h>
#include <vigil/why.h>
#include "virt_internal.h"

INJECT_POINT(virt_enable_fail, "enabling virtualization fails on the CPU");
INJECT_POINT(virt_enable_slow, "enabling virtualization takes 300 ms on the CPU");

static const struct virt_ops *ops;
static char unavailable[128] = "not initialised";
static struct virt_compat boot_compat;
DEFINE_MUTEX(usage_lock);
static unsigned usage_count;
static volatile bool rebooting;
struct virt_cpu virt_cpus[CONFIG_MAX_CPUS];
/* The CPU whose re-enable on resume failed, or -1 (see above).  Written
 * under the count lock, or by syscore resume where nobody can hold it. */
static int degraded_cpu = -1;
static char degraded_why[96];

/* ---- per CPU ---- */

static void snapshot_this_cpu(struct virt_compat *c)
{
	memset(c, 0, sizeof(*c));
	arch_virt_snapshot_common(c);
	ops->snapshot(c);
}

/* A reason as one console token (the `cpus` reply has no spaces in values). */
static void set_compat_token(unsigned cpu, const char *reason)
{
	char *d = virt_cpus[cpu].compat;
	size_t n = sizeof(virt_cpus[cpu].compat);
	strlcpy(d, reason, n);
	virt_cpus[cpu].compat_gen = cpu_table[cpu].present_gen;
	for (; *d; d++)
		if (*d == ' ')
			*d = '_';
}

int virt_check_this_cpu(char *why, size_t len)
{
	unsigned cpu = smp_processor_id();
	struct virt_compat c;
	snapshot_this_cpu(&c);
	if (virt_compat_compare(&boot_compat, &c, why, len) != 0) {
		set_compat_token(cpu, why);
		return -WHY_INCOMPATIBLE;
	}
	set_compat_token(cpu, "ok");
	return 0;
}

/* Enter (cpu, why) or leave (-1) the degraded state. */
static void set_degraded(int cpu, const char *why)
{
	if (degraded_cpu >= 0)
		virt_cpus[degraded_cpu].degraded[0] = 0;
	degraded_cpu = cpu;
	if (cpu < 0)
		return;
	strlcpy(degraded_why, why, sizeof(degraded_why));
	char *d = virt_cpus[cpu].degraded;
	strlcpy(d, why, sizeof(virt_cpus[cpu].degraded));
	for (; *d; d++)
		if (*d == ' ')
			*d = '_';
}

/* Enable on the current CPU.  Preemption is off (IPI or hotplug thread with
 * preemption disabled).  Idempotent; the compatibility check comes first so
 * an incompatible CPU is never half-enabled. */
static int enable_this_cpu(char *why, size_t len)
{
	unsigned cpu = smp_processor_id();
	if (virt_cpus[cpu].enabled)
		return 0;
	if (rebooting) {
		snprintf(why, len, "the system is rebooting");
		return -1;
	}
	int r = virt_check_this_cpu(why, len);
	if (r != 0)
		return r;
	if (inject_hit(&inject_virt_enable_slow, cpu)) {
		/* A slow enable (the interrupts-off spin a real one may do), so
		 * tests can make other work run into an enable under way. */
		uint64_t end = arch_time_ns() + 300000000ULL;
		while (arch_time_ns() < end)
			arch_cpu_relax();
	}
	if (inject_hit(&inject_virt_enable_fail, cpu))
		return why_fail(why, len, WHY_INJECTED, "enable failed (injected)");
	if (ops->enable(why, len) != 0)
		return -1;
	virt_cpus[cpu].enabled = true;
	if (degraded_cpu == (int)cpu)
		set_degraded(-1, NULL);
	return 0;
}

static void disable_this_cpu(void)
{
	unsigned cpu = smp_processor_id();
	if (!virt_cpus[cpu].enabled)
		return;
	ops->disable();
	virt_cpus[cpu].enabled = false;
}

/* ---- all online CPUs ---- */

struct fanout {
	char (*why)[96];      /* per CPU */
	volatile int failed;  /* a CPU that failed, or -1 */
	volatile int rc;      /* its return value: -cause (vigil/why.h) */
};

static void enable_ipi(void *arg)
{
	struct fanout *f = arg;
	unsigned cpu = smp_processor_id();
	int r = enable_this_cpu(f->why[cpu], sizeof(f->why[cpu]));
	if (r != 0) {
		/* Several CPUs may fail: the last one stored is reported, its
		 * cause with it (written first, read after the call returns). */
		__atomic_store_n(&f->rc, r, __ATOMIC_RELAXED);
		__atomic_store_n(&f->failed, (int)cpu, __ATOMIC_RELAXED);
	}
}

static void disable_ipi(void *arg)
{
	(void)arg;
	disable_this_cpu();
}

/* usage_lock and cpus_read_lock are held. */
static int enable_all(char *why, size_t len)
{
	struct fanout f = { .failed = -1 };
	f.why = kzalloc(sizeof(*f.why) * nr_possible_cpus);
	if (!f.why)
		return why_fail(why, len, WHY_NOMEM, "out of memory");
	if (on_each_cpu(enable_ipi, &f, true) != 0) {
		/* Nothing ran anywhere (a waiting call cannot run with
		 * interrupts off; reported as a BUG). */
		kfree(f.why);
		snprintf(why, len, "could not call every CPU");
		return -1;
	}
	int failed = f.failed;
	if (failed >= 0) {
		/* All or nothing: roll every CPU back. */
		on_each_cpu(disable_ipi, NULL, true);
		snprintf(why, len, "cpu %d: %s", failed, f.why[failed]);
		printk("virt: enabling failed on CPU %d (%s); rolled back on every CPU\n", failed, f.why[failed]);
	}
	kfree(f.why);
	return failed >= 0 ? (f.rc ? f.rc : -1) : 0;
}

static void disable_all(void)
{
	on_each_cpu(disable_ipi, NULL, true);
}

/* The count's 0 -> 1 transition; the caller holds cpus_read_lock and the
 * count lock. */
int virt_get_locked(char *why, size_t len)
{
	lockdep_assert_cpus_held();
	if (!ops) {
		snprintf(why, len, "virtualization unavailable: %s", unavailable);
		return -1;
	}
	if (rebooting) {
		snprintf(why, len, "the system is rebooting");
		return -1;
	}
	int r = usage_count++ == 0 ? enable_all(why, len) : 0;
	if (r != 0)
		usage_count--;
	return r;
}

void virt_put_locked(void)
{
	lockdep_assert_cpus_held();
	if (usage_count == 0) {
		printk("virt: usage count underflow\n");
		return;
	}
	if (--usage_count == 0) {
		disable_all();
		set_degraded(-1, NULL); /* off is now what it should be */
	}
}

int virt_get(char *why, size_t len)
{
	cpus_read_lock();
	mutex_lock(&usage_lock);
	int r = virt_get_locked(why, len);
	mutex_unlock(&usage_lock);
	cpus_read_unlock();
	return r;
}

void virt_put(void)
{
	cpus_read_lock();
	mutex_lock(&usage_lock);
	virt_put_locked();
	mutex_unlock(&usage_lock);
	cpus_read_unlock();
}

unsigned virt_usage_count(void)
{
	return __atomic_load_n(&usage_count, __ATOMIC_RELAXED);
}

const struct virt_ops *virt_ops_current(void)
{
	return ops;
}

const char *virt_backend_name(void)
{
	return ops ? ops->name : NULL;
}

const char *virt_unavailable_reason(void)
{
	return unavailable;
}

/* ---- hotplug, suspend, reboot ---- */

int virt_cpu_online(unsigned cpu, char *why, size_t len)
{
	if (!ops)
		return 0;
	mutex_lock(&usage_lock);
	int r = 0;
	preempt_disable();
	if (smp_processor_id() != cpu)
		panic("virt_cpu_online for CPU %u running on CPU %u", cpu, smp_processor_id());
	if (usage_count)
		r = enable_this_cpu(why, len);
	else
		virt_check_this_cpu(why, len); /* refresh compat= for `cpus`; not a veto */
	preempt_enable();
	mutex_unlock(&usage_lock);
	return r;
}

void virt_cpu_offline(unsigned cpu)
{
	(void)cpu;
	if (!ops)
		return;
	mutex_lock(&usage_lock);
	preempt_disable();
	if (usage_count)
		disable_this_cpu();
	preempt_enable();
	mutex_unlock(&usage_lock);
}

void virt_syscore_suspend(void)
{
	/* Syscore runs on the boot CPU with interrupts off, the other CPUs
	 * offline; nobody can hold usage_lock here (a holder would have blocked
	 * the hotplug that took the CPUs down). */
	lockdep_assert_not_held(&usage_lock);
	lockdep_assert_irqs_disabled();
	if (ops && usage_count)
		disable_this_cpu();
}

void virt_syscore_resume(void)
{
	lockdep_assert_not_held(&usage_lock);
	lockdep_assert_irqs_disabled();
	if (ops && usage_count) {
		char why[WHY_MAX];
		unsigned cpu = smp_processor_id();
		if (enable_this_cpu(why, sizeof(why)) != 0) {
			set_degraded((int)cpu, why);
			printk("WARNING: virt: re-enabling on the boot CPU after resume failed: %s; CPU %u stays off "
			       "until the next resume or 'virt retry'\n", why, cpu);
		}
	}
}

bool virt_degraded_report(char *why, size_t len)
{
	int cpu = __atomic_load_n(&degraded_cpu, __ATOMIC_RELAXED);
	if (cpu < 0)
		return false;
	/* The reason last: a long one (a CR4 mask with both values) is what
	 * a short reply buffer may cut. */
	snprintf(why, len, "CPU %d (the boot CPU): virtualization off after resume ('virt retry' or the next resume "
		 "re-enables it): %s", cpu, degraded_why);
	return true;
}

struct retry {
	char why[WHY_MAX];
};

static void retry_ipi(void *arg)
{
	struct retry *t = arg;
	if (enable_this_cpu(t->why, sizeof(t->why)) != 0)
		set_degraded((int)smp_processor_id(), t->why);
}

int virt_retry(char *why, size_t len)
{
	struct retry t = { "" };
	int r = 0;
	cpus_read_lock();
	mutex_lock(&usage_lock);
	int cpu = degraded_cpu;
	if (cpu < 0) {
		snprintf(why, len, "no CPU is degraded: nothing to retry");
		r = -1;
	} else if (smp_call_function_single((unsigned)cpu, retry_ipi, &t, true) != 0) {
		snprintf(why, len, "CPU %d is not online", cpu);
		r = -1;
	} else if (degraded_cpu >= 0) {
		snprintf(why, len, "CPU %d: %s; still degraded", cpu, t.why);
		r = -1;
	} else {
		printk("virt: CPU %d has virtualization on again\n", cpu);
	}
	mutex_unlock(&usage_lock);
	cpus_read_unlock();
	return r;
}

/* Shutdown and reboot (Linux KVM's kvm_rebooting + its shutdown hook). */

struct reboot_tally {
	volatile bool was_on[CONFIG_MAX_CPUS];    /* enabled when the disable came */
	volatile bool still_on[CONFIG_MAX_CPUS];  /* the hardware's word afterwards */
};

static void reboot_disable_ipi(void *arg)
{
	struct reboot_tally *t = arg;
	unsigned cpu = smp_processor_id();
	t->was_on[cpu] = virt_cpus[cpu].enabled;
	disable_this_cpu();
	t->still_on[cpu] = ops->hw_enabled();
}

/* How long a reboot waits for the locks before disabling without them. */
#define REBOOT_LOCK_WAIT_NS 5000000000ULL

/*
 * The usage lock is held around every enable (virt_get's 0 -> 1 on all
 * CPUs, a hotplug online's enable on its CPU), and each one looks at
 * `rebooting` under it.  So once virt_reboot holds it, an enable that was
 * under way has finished (and is undone below), and none can start after.
 * cpus_read_lock keeps the online set still while on_each_cpu runs.  Taken
 * with trylock and a deadline: a reboot must not hang behind a stuck holder.
 */
static bool reboot_lock(void)
{
	uint64_t deadline = arch_time_ns() + REBOOT_LOCK_WAIT_NS;
	while (!cpus_read_trylock()) {
		if (arch_time_ns() >= deadline)
			return false;
		arch_cpu_relax();
	}
	while (!mutex_trylock(&usage_lock)) {
		if (arch_time_ns() >= deadline) {
			cpus_read_unlock();
			return false;
		}
		arch_cpu_relax();
	}
	return true;
}

static unsigned (*reboot_prepare)(void);

void virt_set_reboot_prepare(unsigned (*fn)(void))
{
	reboot_prepare = fn;
}

int virt_reboot(void)
{
	/* Guests first: every vCPU out of its guest and no entry after, so
	 * that no CPU is in guest mode when its virtualization goes off. */
	if (reboot_prepare) {
		unsigned stuck = reboot_prepare();
		if (stuck)
			printk("virt: %u vCPU%s still in guest mode after the kick; disabling anyway\n", stuck,
			       stuck == 1 ? "" : "s");
	}
	if (!ops) {
		__atomic_store_n(&rebooting, true, __ATOMIC_SEQ_CST);
		return -1;
	}
	/* Latched under the lock, where every enable reads it: an enable
	 * that got the lock first finishes and is undone below; every later
	 * one is refused. */
	bool locked = reboot_lock();
	__atomic_store_n(&rebooting, true, __ATOMIC_SEQ_CST);
	if (!locked)
		printk("virt: the usage lock stayed busy for %llu s; disabling without it\n",
		       REBOOT_LOCK_WAIT_NS / 1000000000ULL);
	struct reboot_tally t;
	memset(&t, 0, sizeof(t));
	on_each_cpu(reboot_disable_ipi, &t, true);
	if (locked) {
		mutex_unlock(&usage_lock);
		cpus_read_unlock();
	}
	int disabled = 0;
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		disabled += t.was_on[c];
		if (t.still_on[c])
			printk("virt: CPU %u still has virtualization on after disabling it\n", c);
	}
	return disabled;
}

int virt_emergency_disable_this_cpu(void)
{
	const struct virt_ops *o = ops;
	if (!o)
		return -1;
	if (o->emergency_disable)
		o->emergency_disable();
	virt_cpus[smp_processor_id()].enabled = false;
	return o->hw_enabled() ? 1 : 0;
}

/* ---- registration with the subsystems that drive the life cycle ---- */

/* `poweroff` and `reboot`: the lines the console and scenarios read. */
static void reboot_notify_virt(const char *action)
{
	int n = virt_reboot();
	if (n < 0)
		printk("%s: no virtualization backend, nothing to disable\n", action);
	else
		printk("%s: virtualization disabled on %d CPU%s\n", action, n, n == 1 ? "" : "s");
}

static struct syscore_ops virt_syscore_ops = {
	.name = "virt",
	.suspend = virt_syscore_suspend,
	.resume = virt_syscore_resume,
	.resume_problem = virt_degraded_report,
};

static struct reboot_notifier virt_reboot_notifier = {
	.name = "virt",
	.notify = reboot_notify_virt,
};

int virt_hotplug_state = -1;

/* Once per boot, with or without a backend (each callback checks `ops`):
 * the reboot line then says "nothing to disable", and the hotplug state
 * keeps compat= current.  virt_init runs before cpuhp_init, so the ONLINE
 * state is registered without calls: cpuhp_init counts it done on the CPUs
 * up at boot, which virt_init checks itself. */
static void register_lifecycle(void)
{
	static bool registered;
	if (registered)
		return;
	registered = true;
	virt_hotplug_state = cpuhp_setup_state_nocalls("virt:online", virt_cpu_online, virt_cpu_offline);
	if (virt_hotplug_state < 0)
		printk("virt: no free hotplug state: CPUs coming online will not be enabled\n");
	register_syscore_ops(&virt_syscore_ops);
	register_reboot_notifier(&virt_reboot_notifier);
	if (register_emergency_callback(virt_emergency_disable_this_cpu) != 0)
		printk("virt: no free emergency callback slot: a panic will not leave virtualization\n");
}

/* ---- boot ---- */

static void check_ipi(void *arg)
{
	(void)arg;
	char why[WHY_MAX];
	if (virt_check_this_cpu(why, sizeof(why)) != 0)
		printk("virt: CPU %u is incompatible with the boot CPU: %s\n", smp_processor_id(), why);
}

void virt_init(void)
{
	const struct boot_params *bp = boot_params();
	memset(virt_cpus, 0, sizeof(virt_cpus));
	register_lifecycle();
	ops = arch_virt_ops(bp->virt, unavailable, sizeof(unavailable));
	if (!ops) {
		printk("virt: unavailable: %s\n", unavailable);
		for (unsigned c = 0; c < nr_possible_cpus; c++)
			strlcpy(virt_cpus[c].compat, "n/a", sizeof(virt_cpus[c].compat));
		return;
	}
	unavailable[0] = 0;
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		if (ops->prepare_cpu(c) != 0) {
			snprintf(unavailable, sizeof(unavailable), "out of memory preparing CPU %u", c);
			printk("virt: %s\n", unavailable);
			ops = NULL;
			return;
		}
	}
	/* The boot CPU's snapshot is the reference. */
	preempt_disable();
	snapshot_this_cpu(&boot_compat);
	preempt_enable();
	printk("virt: %s, %u compatibility fields\n", ops->name, boot_compat.n);
	on_each_cpu(check_ipi, NULL, true);
}

/* ---- the invariant ---- */

struct hw_state {
	volatile bool hw[CONFIG_MAX_CPUS];
};

static void read_hw_ipi(void *arg)
{
	struct hw_state *s = arg;
	s->hw[smp_processor_id()] = ops->hw_enabled();
}

static int usage_invariant(char *why, size_t len)
{
	if (!ops) {
		for (unsigned c = 0; c < nr_possible_cpus; c++)
			if (virt_cpus[c].enabled) {
				snprintf(why, len, "cpu %u enabled without a backend", c);
				return -1;
			}
		return 0;
	}
	/* Static, since `check` must answer when memory is full; checks run
	 * one at a time (core/check.c). */
	static struct hw_state hw_state;
	struct hw_state *s = &hw_state;
	memset(s, 0, sizeof(*s));
	int r = 0;
	cpus_read_lock();
	mutex_lock(&usage_lock);
	if (on_each_cpu(read_hw_ipi, s, true) != 0) {
		snprintf(why, len, "could not read every CPU's hardware");
		r = -1;
	}
	bool want = usage_count > 0;
	int noted = -1;
	for (unsigned c = 0; c < nr_possible_cpus && !r; c++) {
		bool online = cpu_is_online(c);
		bool en = virt_cpus[c].enabled;
		if (online && want && !en && !s->hw[c] && degraded_cpu == (int)c && c == 0 &&
		    virt_cpus[c].degraded[0]) {
			noted = (int)c; /* the known degraded state: reported, not violated */
		} else if (online && en != want) {
			snprintf(why, len, "cpu %u: enabled=%d but usage_count=%u", c, en, usage_count);
			r = -1;
		} else if (online && s->hw[c] != en) {
			snprintf(why, len, "cpu %u: hardware says %s, kernel says %s", c, s->hw[c] ? "on" : "off",
				 en ? "on" : "off");
			r = -1;
		} else if (!online && en) {
			snprintf(why, len, "cpu %u is %s but enabled", c, cpu_state_name(cpu_table[c].state));
			r = -1;
		}
	}
	if (!r && degraded_cpu >= 0 && noted != degraded_cpu) {
		snprintf(why, len, "cpu %d marked degraded (%s) but enabled=%d usage_count=%u", degraded_cpu,
			 virt_cpus[degraded_cpu].degraded, virt_cpus[degraded_cpu].enabled, usage_count);
		r = -1;
	}
	if (!r && noted >= 0) {
		snprintf(why, len, "cpu=%d reason=%s", noted, virt_cpus[noted].degraded);
		r = 1;
	}
	mutex_unlock(&usage_lock);
	cpus_read_unlock();
	return r;
}
INVARIANT(virt_usage, usage_invariant);

/* ---- for the benchmarks (virt_bench.c) ---- */

/* The per-CPU steps of a transition on their own, on the current CPU; the
 * caller holds virt_count_lock() (usage_lock) with preemption off. */
int virt_enable_this_cpu(char *why, size_t len)
{
	return enable_this_cpu(why, len);
}

void virt_disable_this_cpu(void)
{
	disable_this_cpu();
}

struct mutex *virt_count_lock(void)
{
	return &usage_lock;
}

/* ---- per-CPU state, for `cpus`, `virt` and `vm run` ---- */

bool virt_cpu_enabled(unsigned cpu)
{
	return cpu < CONFIG_MAX_CPUS && __atomic_load_n(&virt_cpus[cpu].enabled, __ATOMIC_RELAXED);
}

const char *virt_cpu_compat(unsigned cpu)
{
	/* A verdict about a CPU since removed and added again is about another
	 * chip: unchecked until virt's ONLINE step checks the new one. */
	if (cpu >= CONFIG_MAX_CPUS || !virt_cpus[cpu].compat[0])
		return "unchecked";
	if (virt_cpus[cpu].compat_gen != cpu_table[cpu].present_gen && strcmp(virt_cpus[cpu].compat, "n/a"))
		return "unchecked";
	return virt_cpus[cpu].compat;
}

const char *virt_cpu_degraded(unsigned cpu)
{
	return cpu < CONFIG_MAX_CPUS ? virt_cpus[cpu].degraded : "";
}

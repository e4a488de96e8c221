/*
 * A suspend asked for while another task is inside a virtualization enable
 * waits for it (docs/design.md section 6): the enabler holds
 * cpus_read_lock around the 0 -> 1 fan-out, and the suspend's first CPU
 * offline needs cpus_write_lock.  The enable is made slow (300 ms on one
 * CPU, inject virt_enable_slow); a dynamic ONLINE hotplug state records
 * when the suspend's first offline reached its teardown, which must be after
 * the enable finished.  Afterwards the usage invariant holds.
 */
#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/inject.h>
#include <vigil/sched.h>
#include <vigil/selftest.h>
#include <vigil/suspend.h>
#include <vigil/task.h>
#include <vigil/virt.h>

INJECT_DECLARE(virt_enable_slow);

static volatile uint64_t enable_started_ns, enable_done_ns, first_teardown_ns;
static volatile int enable_result;

static int noop_startup(unsigned cpu, char *why, size_t len)
{
	(void)cpu;
	(void)why;
	(void)len;
	return 0;
}

static void record_teardown(unsigned cpu)
{
	(void)cpu;
	uint64_t zero = 0;
	__atomic_compare_exchange_n(&first_teardown_ns, &zero, arch_time_ns(), false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
}

static void enabler(void *arg)
{
	(void)arg;
	char why[WHY_MAX];
	enable_started_ns = arch_time_ns();
	enable_result = virt_get(why, sizeof(why));
	enable_done_ns = arch_time_ns();
}

static int test_suspend_waits_for_enable(struct selftest_ctx *ctx)
{
	if (!virt_backend_name())
		return st_skip(ctx, "no virtualization backend");
	if (virt_usage_count() != 0)
		return st_skip(ctx, "virtualization is in use (usage count %u)", virt_usage_count());
	/* Three CPUs with a job each: the enabler waits in the fan-out on CPU 0
	 * (preemption off), the last CPU spins in the slow enable with
	 * interrupts off, and this task must run on a third to ask for the
	 * suspend while the enable is under way.  With two CPUs it could only
	 * wake up after the enable, and the test would prove nothing. */
	unsigned last = nr_possible_cpus - 1, me_cpu = 1;
	if (last < 2 || !cpu_is_online(last) || !cpu_is_online(me_cpu))
		return st_skip(ctx, "needs three online CPUs (enabler, slow enable, this task)");
	char why[WHY_MAX];
	int state = cpuhp_setup_state("selftest:suspend", noop_startup, record_teardown, why, sizeof(why));
	ST_ASSERT(ctx, state >= 0, "cpuhp_setup_state: %s", why);
	first_teardown_ns = enable_done_ns = 0;
	inject_virt_enable_slow.cpu = (int)last;
	inject_virt_enable_slow.remaining = 1;
	inject_virt_enable_slow.armed = 1;
	int old_bound = sched_pin_current(me_cpu);
	enable_started_ns = 0;
	struct task *t = kthread_run(enabler, NULL, 0, "st-enabler");
	ST_ASSERT(ctx, t, "out of memory");
	/* Let the enabler get inside the slow enable, then suspend. */
	while (!enable_started_ns)
		sleep_ns(1000000);
	sleep_ns(50000000);
	struct suspend_times times;
	uint64_t requested = arch_time_ns();
	int r = suspend_cycle(false, why, sizeof(why), &times);
	kthread_join(t);
	sched_bind_current(old_bound);
	inject_virt_enable_slow.armed = 0;
	cpuhp_remove_state(state);
	if (enable_result == 0)
		virt_put();
	ST_ASSERT(ctx, r == 0, "suspend failed: %s", why);
	ST_ASSERT(ctx, enable_result == 0, "the enable failed");
	ST_ASSERT(ctx, requested < enable_done_ns, "no race: the suspend was asked for %lu us after the enable finished",
		  (unsigned long)((requested - enable_done_ns) / 1000));
	ST_ASSERT(ctx, first_teardown_ns, "the suspend took no CPU offline");
	ST_ASSERT(ctx, first_teardown_ns > enable_done_ns,
		  "a CPU went offline %lu us before the enable under way finished",
		  (unsigned long)((enable_done_ns - first_teardown_ns) / 1000));
	char inv[160];
	ST_ASSERT(ctx, invariants_check(inv, sizeof(inv)) == 0, "invariant: %s", inv);
	st_note(ctx, "suspend asked for %lu us into the enable; first offline %lu us after the enable finished",
		(unsigned long)((requested - enable_started_ns) / 1000),
		(unsigned long)((first_teardown_ns - enable_done_ns) / 1000));
	return 0;
}
SELFTEST(suspend_waits_for_enable, test_suspend_waits_for_enable);

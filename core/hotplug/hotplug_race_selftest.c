/*
 * An enable failure injected into a CPU's online while another CPU is
 * creating the first VM: the VM creation (virt_get, 0 -> 1 under
 * cpus_read_lock) is made slow on the boot CPU (inject virt_enable_slow),
 * and while it is inside the enable, `cpu online` of the last CPU runs with
 * virt_enable_fail armed for that CPU.  The online needs cpus_write_lock, so
 * it waits for the creation; the creation succeeds on every CPU online at
 * the time; then the online's enable fails and vetoes it: the CPU stays
 * offline.  Afterwards the usage invariant holds and nothing is half-enabled.
 */
#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/inject.h>
#include <vigil/sched.h>
#include <vigil/selftest.h>
#include <vigil/task.h>
#include <vigil/virt.h>

INJECT_DECLARE(virt_enable_slow);
INJECT_DECLARE(virt_enable_fail);

static volatile uint64_t create_started_ns, create_done_ns;
static volatile int create_result;
static char create_why[128];

static void creator(void *arg)
{
	(void)arg;
	create_started_ns = arch_time_ns();
	create_result = virt_get(create_why, sizeof(create_why));
	create_done_ns = arch_time_ns();
}

static void arm(struct inject_point *p, unsigned cpu)
{
	p->cpu = (int)cpu;
	p->remaining = 1;
	p->armed = 1;
}

static int test_online_fails_during_first_vm(struct selftest_ctx *ctx)
{
	if (!virt_backend_name())
		return st_skip(ctx, "no virtualization backend");
	if (virt_usage_count() != 0)
		return st_skip(ctx, "virtualization is in use (usage count %u)", virt_usage_count());
	/* Four CPUs with a job each: the creator waits in the fan-out on CPU 0
	 * (preemption off), CPU 1 spins in the slow enable with interrupts off,
	 * the last CPU is the one coming online, and this task must run
	 * somewhere else to start the online while the creation is under way
	 * (unbound, it may be queued behind the spin on CPU 1 and wake only
	 * after the creation ended). */
	unsigned last = nr_possible_cpus - 1, me_cpu = 2;
	if (last < 3 || !cpu_is_online(last) || !cpu_is_online(1) || !cpu_is_online(me_cpu))
		return st_skip(ctx, "needs four online CPUs (creator, slow enable, this task, target)");
	char why[WHY_MAX];
	ST_ASSERT(ctx, cpu_down(last, why, sizeof(why)) == 0, "cpu_down(%u): %s", last, why);
	int old_bound = sched_pin_current(me_cpu);

	create_started_ns = create_done_ns = 0;
	/* Slow on a CPU other than the boot CPU when there is one: the boot
	 * CPU's tick wakes sleepers, and this task must wake mid-creation. */
	unsigned slow = 1;
	uint64_t slow_hits0 = inject_virt_enable_slow.hits;
	arm(&inject_virt_enable_slow, slow);
	arm(&inject_virt_enable_fail, last);
	struct task *t = kthread_run(creator, NULL, 0, "st-first-vm");
	ST_ASSERT(ctx, t, "out of memory");
	while (!create_started_ns)
		sleep_ns(1000000);
	sleep_ns(50000000); /* inside the 300 ms enable on CPU 0 */
	uint64_t online_start = arch_time_ns();
	int up = cpu_up(last, why, sizeof(why));
	uint64_t online_end = arch_time_ns();
	kthread_join(t);
	inject_virt_enable_slow.armed = 0;
	bool fail_left = inject_virt_enable_fail.armed && inject_virt_enable_fail.remaining;
	inject_virt_enable_fail.armed = 0;

	char inv[160];
	int inv_r = invariants_check(inv, sizeof(inv));
	bool vm = create_result == 0;
	if (vm)
		virt_put();
	bool back_online = cpu_is_online(last) || cpu_up(last, why, sizeof(why)) == 0;
	sched_bind_current(old_bound);

	ST_ASSERT(ctx, vm, "the first VM's enable failed: %s", create_why);
	ST_ASSERT(ctx, up != 0, "the online with an injected enable failure succeeded");
	ST_ASSERT(ctx, !fail_left, "the injected failure was not used by the online");
	ST_ASSERT(ctx, online_start < create_done_ns,
		  "no race: the online started %lu us after the creation ended (creation took %lu us, slow enable hits %lu -> %lu)",
		  (unsigned long)((online_start - create_done_ns) / 1000),
		  (unsigned long)((create_done_ns - create_started_ns) / 1000), (unsigned long)slow_hits0,
		  (unsigned long)inject_virt_enable_slow.hits);
	ST_ASSERT(ctx, online_end > create_done_ns, "the online finished before the VM creation it raced");
	ST_ASSERT(ctx, inv_r == 0, "invariant after the race: %s", inv);
	ST_ASSERT(ctx, back_online, "CPU %u did not come back online afterwards", last);
	st_note(ctx, "online started %lu us into the creation, vetoed %lu us after it finished",
		(unsigned long)((online_start - create_started_ns) / 1000),
		(unsigned long)((online_end - create_done_ns) / 1000));
	return 0;
}
SELFTEST(hotplug_online_fails_during_first_vm, test_online_fails_during_first_vm);

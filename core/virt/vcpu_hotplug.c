/*
 * vCPUs and the machine's life cycle: CPU hotplug, suspend, reboot
 * (docs/design.md "Live VMs").
 *
 * CPU offline.  The state "vcpu:online" is registered after
 * virtualization's "virt:online", so on the way down its teardown runs
 * first, in the dying CPU's hotplug thread: it closes the CPU to guest
 * entries (every vCPU loop checks vcpu_cpu_usable() with preemption off
 * before loading its state there, and again in the re-check after
 * publishing guest mode), drops the pins to it (logged), kicks the vCPUs
 * that ran there and sleeps until each has left -- their loops move their
 * tasks to a CPU that takes guests.  Only then does virt's teardown turn
 * virtualization off there, with no vCPU state in use on it.  On the way up
 * its startup runs last, once virtualization is on: the CPU opens again and
 * the scheduler may bring vCPUs there.  tests/model/vcpu_offline.pml checks
 * the close-wait-disable order (docs/models.md, Model 7).
 *
 * Suspend.  vCPU tasks are freezable; the freezer's kick (registered here)
 * gets every vCPU out of its guest or its sleep to its try_to_freeze(), so
 * they are all parked outside guest mode before the first CPU goes down.
 *
 * Reboot and poweroff.  virt_reboot() first calls vcpus_refuse_entries():
 * latch, kick, and wait (bounded) until no vCPU is in guest mode; the latch
 * is read in every entry's re-check, so none enters after.
 *
 * Panic.  Nothing here: the NMI shoot-down runs the backend's emergency
 * disable on every CPU whatever the vCPU there was doing.
 */
#include <vigil/arch.h>
#include <vigil/config.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/printk.h>
#include <vigil/suspend.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>
#include "virt_internal.h"

/* How long a CPU going offline waits for its vCPUs to leave, and a reboot
 * for every vCPU to leave its guest. */
#define VCPU_LEAVE_WAIT_NS 2000000000ULL
#define VCPU_LEAVE_POLL_NS 1000000ULL

static volatile bool closed[CONFIG_MAX_CPUS];
static volatile bool refused;
static int vcpu_hotplug_state = -1;

bool vcpu_cpu_usable(unsigned cpu)
{
	return cpu < nr_possible_cpus && !__atomic_load_n(&closed[cpu], __ATOMIC_SEQ_CST) && cpu_is_online(cpu) &&
	       virt_cpu_enabled(cpu);
}

bool vcpu_entries_refused(void)
{
	return __atomic_load_n(&refused, __ATOMIC_SEQ_CST);
}

static void kick_one(struct vcpu *v, void *arg)
{
	(void)arg;
	vcpu_kick(&v->req);
}

/* A vCPU that still uses cpu: in guest mode there, or looping there (not
 * parked, not frozen: those never enter without going round their loop,
 * which moves them first). */
static bool uses_cpu(const struct vcpu *v, unsigned cpu)
{
	if (vcpu_mode(&v->req) != OUTSIDE_GUEST_MODE && READ_ONCE(v->req.cpu) == (int)cpu)
		return true;
	/* Any state but failed: a vCPU being paused loops until it parks. */
	return READ_ONCE(v->task) && READ_ONCE(v->state) != VCPU_FAILED &&
	       __atomic_load_n(&v->where, __ATOMIC_SEQ_CST) == (int)cpu &&
	       !READ_ONCE(v->frozen) && !READ_ONCE(v->outside);
}

struct leave {
	unsigned cpu;
	unsigned left;   /* vCPUs still using it */
};

static void push_one(struct vcpu *v, void *arg)
{
	struct leave *l = arg;
	if (READ_ONCE(v->pin) == (int)l->cpu) {
		WRITE_ONCE(v->pin, TASK_ANY_CPU);
		__atomic_store_n(&v->rebind, 1, __ATOMIC_SEQ_CST);
		printk("%s: cpu %u is going offline: its pin to it is dropped\n", v->name, l->cpu);
	}
	if (READ_ONCE(v->where) == (int)l->cpu || READ_ONCE(v->req.cpu) == (int)l->cpu)
		vcpu_kick(&v->req);
}

static void count_users(struct vcpu *v, void *arg)
{
	struct leave *l = arg;
	l->left += uses_cpu(v, l->cpu);
}

static void report_user(struct vcpu *v, void *arg)
{
	struct leave *l = arg;
	if (uses_cpu(v, l->cpu))
		printk("  %s: state=%d mode=%d entry_cpu=%d where=%d pin=%d outside=%d frozen=%d entries=%lu\n", v->name,
		       READ_ONCE(v->state), (int)vcpu_mode(&v->req), READ_ONCE(v->req.cpu), READ_ONCE(v->where),
		       READ_ONCE(v->pin), READ_ONCE(v->outside), READ_ONCE(v->frozen),
		       (unsigned long)__atomic_load_n(&v->entries, __ATOMIC_RELAXED));
}

static void vcpu_cpu_offline(unsigned cpu)
{
	__atomic_store_n(&closed[cpu], true, __ATOMIC_SEQ_CST);
	struct leave l = { .cpu = cpu };
	vcpu_for_each(push_one, &l);
	uint64_t deadline = arch_time_ns() + VCPU_LEAVE_WAIT_NS;
	for (;;) {
		l.left = 0;
		vcpu_for_each(count_users, &l);
		if (!l.left)
			return;
		if (arch_time_ns() > deadline)
			break;
		/* This thread sleeps: the vCPU tasks queued here get the CPU,
		 * find it closed and move. */
		sleep_ns(VCPU_LEAVE_POLL_NS);
	}
	printk("WARNING: %u vCPU%s did not leave cpu %u within %llu ms\n", l.left, l.left == 1 ? "" : "s", cpu,
	       VCPU_LEAVE_WAIT_NS / 1000000ULL);
	vcpu_for_each(report_user, &l);
}

/* A vCPU that moved away from a closing CPU stays bound where it went;
 * once a CPU opens, the unpinned ones are free to go anywhere again (their
 * next pass applies the pin, TASK_ANY_CPU). */
static void set_free(struct vcpu *v, void *arg)
{
	(void)arg;
	if (READ_ONCE(v->pin) < 0 && __atomic_load_n(&v->moves, __ATOMIC_RELAXED))
		__atomic_store_n(&v->rebind, 1, __ATOMIC_SEQ_CST);
}

static int vcpu_cpu_online(unsigned cpu, char *why, size_t len)
{
	(void)why;
	(void)len;
	__atomic_store_n(&closed[cpu], false, __ATOMIC_SEQ_CST);
	vcpu_for_each(set_free, NULL);
	return 0;
}

static void freezer_kick_vcpus(void)
{
	vcpu_for_each(kick_one, NULL);
}

static void count_in_guest(struct vcpu *v, void *arg)
{
	*(unsigned *)arg += vcpu_mode(&v->req) != OUTSIDE_GUEST_MODE;
}

unsigned vcpus_refuse_entries(void)
{
	__atomic_store_n(&refused, true, __ATOMIC_SEQ_CST);
	vcpu_for_each(kick_one, NULL);
	uint64_t deadline = arch_time_ns() + VCPU_LEAVE_WAIT_NS;
	for (;;) {
		unsigned in = 0;
		vcpu_for_each(count_in_guest, &in);
		if (!in || arch_time_ns() > deadline)
			return in;
		sleep_ns(VCPU_LEAVE_POLL_NS);
	}
}

void vcpu_lifecycle_init(void)
{
	for (unsigned c = 0; c < nr_possible_cpus; c++)
		closed[c] = !cpu_is_online(c);
	vcpu_hotplug_state = cpuhp_setup_state_nocalls("vcpu:online", vcpu_cpu_online, vcpu_cpu_offline);
	if (vcpu_hotplug_state < 0)
		printk("vcpu: no free hotplug state: vCPUs will not leave a CPU going offline\n");
	if (freezer_register_kick(freezer_kick_vcpus) != 0)
		printk("vcpu: no free freezer kick: a suspend may not freeze running vCPUs\n");
	virt_set_reboot_prepare(vcpus_refuse_entries);
}

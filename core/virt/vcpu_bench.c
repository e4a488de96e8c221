/*
 * Benches of live vCPUs (figures, never asserted):
 *   vcpu_kick_latency   a request made while the vCPU is in its guest on
 *                       another CPU, until it is outside (vcpu_request_and_wait)
 *   vcpu_migration      `vcpu pin` to another CPU until an entry there came back
 *   vcpu_cpu_offline,   cpu_down / cpu_up of the last CPU with 4 vCPUs
 *   vcpu_cpu_online     running (they leave it first / may come back)
 *   vcpu_suspend        one simulated suspend cycle with 4 vCPUs running
 */
#include <vigil/arch.h>
#include <vigil/bench.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/mutex.h>
#include <vigil/suspend.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>
#include "virt_internal.h"

#define VB_ROUNDS 16
#define VB_WAIT_NS 5000000000ULL   /* a vCPU that does not show in this long ends the bench */

/* A started VM of n vCPUs, or 0. */
static unsigned live_vm(unsigned n)
{
	char why[WHY_MAX];
	unsigned id;
	if (vm_create_live(&id, n, 0, why, sizeof(why)) != 0)
		return 0;
	if (vm_start(id, why, sizeof(why)) != 0) {
		vm_destroy(id, why, sizeof(why));
		return 0;
	}
	return id;
}

static void drop_vm(unsigned id)
{
	char why[WHY_MAX];
	if (id)
		vm_destroy(id, why, sizeof(why));
}

/* vCPU index of VM id; the VM belongs to the bench, so it stays. */
static struct vcpu *vcpu_of(unsigned id, unsigned index)
{
	mutex_lock(&vm_list_lock);
	struct vm *vm = vm_find_locked(id);
	struct vcpu *v = vm && index < vm->nr_vcpus ? vm->vcpus[index] : NULL;
	mutex_unlock(&vm_list_lock);
	return v;
}

static bool wait_for(bool (*cond)(struct vcpu *v, int arg), struct vcpu *v, int arg)
{
	uint64_t deadline = arch_time_ns() + VB_WAIT_NS;
	while (!cond(v, arg)) {
		if (arch_time_ns() > deadline)
			return false;
		arch_cpu_relax();
	}
	return true;
}

static bool in_guest(struct vcpu *v, int arg)
{
	(void)arg;
	return vcpu_mode(&v->req) == IN_GUEST_MODE;
}

static unsigned bench_kick(uint64_t *samples, unsigned max)
{
	if (nr_possible_cpus < 2 || !cpu_is_online(1))
		return 0;
	unsigned id = live_vm(1);
	struct vcpu *v = id ? vcpu_of(id, 0) : NULL;
	char why[WHY_MAX];
	unsigned n = 0;
	int old = sched_pin_current(0);
	if (v && vcpu_pin(id, 0, 1, why, sizeof(why)) == 0) {
		for (; n < max && n < VB_ROUNDS; n++) {
			if (!wait_for(in_guest, v, 0))
				break;
			uint64_t t0 = arch_time_ns();
			vcpu_request_and_wait(&v->req, VCPU_REQ_RELOAD);
			samples[n] = arch_time_ns() - t0;
		}
	}
	sched_bind_current(old);
	drop_vm(id);
	return n;
}
BENCH(vcpu_kick_latency, "ns", bench_kick);

static bool entered_on(struct vcpu *v, int cpu)
{
	return READ_ONCE(v->last_cpu) == cpu;  /* written after an entry there returned */
}

static unsigned bench_migration(uint64_t *samples, unsigned max)
{
	if (nr_possible_cpus < 3 || !cpu_is_online(1) || !cpu_is_online(2))
		return 0;
	unsigned id = live_vm(1);
	struct vcpu *v = id ? vcpu_of(id, 0) : NULL;
	char why[WHY_MAX];
	unsigned n = 0;
	int old = sched_pin_current(0);
	if (v && vcpu_pin(id, 0, 1, why, sizeof(why)) == 0 && wait_for(entered_on, v, 1)) {
		for (; n < max && n < VB_ROUNDS; n++) {
			int to = n % 2 ? 1 : 2;
			uint64_t t0 = arch_time_ns();
			if (vcpu_pin(id, 0, to, why, sizeof(why)) != 0 || !wait_for(entered_on, v, to))
				break;
			samples[n] = (arch_time_ns() - t0) / 1000;
		}
	}
	sched_bind_current(old);
	drop_vm(id);
	return n;
}
BENCH(vcpu_migration, "us", bench_migration);

static unsigned hp_bench(uint64_t *samples, unsigned max, bool down)
{
	unsigned cpu = nr_possible_cpus - 1;
	if (cpu == 0 || !cpu_is_online(cpu))
		return 0;
	unsigned id = live_vm(4 < nr_possible_cpus ? 4 : nr_possible_cpus);
	unsigned n = id ? cpuhp_bench_cycles(cpu, VB_ROUNDS / 2, samples, max, down) : 0;
	drop_vm(id);
	return n;
}

static unsigned bench_offline(uint64_t *samples, unsigned max)
{
	return hp_bench(samples, max, true);
}

static unsigned bench_online(uint64_t *samples, unsigned max)
{
	return hp_bench(samples, max, false);
}
BENCH(vcpu_cpu_offline, "us", bench_offline);
BENCH(vcpu_cpu_online, "us", bench_online);

static unsigned bench_suspend(uint64_t *samples, unsigned max)
{
	unsigned id = live_vm(4 < nr_possible_cpus ? 4 : nr_possible_cpus);
	char why[WHY_MAX];
	struct suspend_times t;
	unsigned n = 0;
	for (; id && n < max && n < VB_ROUNDS / 2; n++) {
		uint64_t t0 = arch_time_ns();
		if (suspend_cycle(false, why, sizeof(why), &t) != 0)
			break;
		samples[n] = (arch_time_ns() - t0) / 1000;
	}
	drop_vm(id);
	return n;
}
BENCH(vcpu_suspend, "us", bench_suspend);

/*
 * The `check` invariant of live VMs (core/check.c):
 *  - no vCPU failed and no guest reported a memory error;
 *  - every vCPU in guest mode is there on an online CPU with virtualization
 *    enabled, and every running vCPU that loops (not parked, not frozen)
 *    does so on an online CPU;
 *  - every VM that was running at the previous check and still is made
 *    progress since (its guest's progress hypercalls).  A guest that has
 *    not yet been scheduled since (a thaw, a CPU change) gets a bounded
 *    while to show it: a liveness bound, not a timing assertion.
 */
#include <vigil/arch.h>
#include <vigil/check.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/mutex.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>
#include "virt_internal.h"

#define PROGRESS_WAIT_NS 3000000000ULL
#define PROGRESS_POLL_NS 5000000ULL

static uint64_t vm_progress(const struct vm *vm)
{
	uint64_t p = 0;
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		p += __atomic_load_n(&vm->vcpus[i]->run.progress, __ATOMIC_RELAXED);
	return p;
}

/* vm_list_lock and cpus_read_lock held. */
static int check_vcpu(const struct vcpu *v, char *why, size_t len)
{
	int state = __atomic_load_n(&v->state, __ATOMIC_ACQUIRE); /* then error, written before it */
	if (state == VCPU_FAILED) {
		snprintf(why, len, "%s failed: %s", v->name, v->error);
		return -1;
	}
	uint64_t errs = __atomic_load_n(&v->run.guest_errors, __ATOMIC_RELAXED);
	if (errs) {
		snprintf(why, len, "%s: the guest reported %lu memory errors", v->name, (unsigned long)errs);
		return -1;
	}
	if (vcpu_mode(&v->req) != OUTSIDE_GUEST_MODE) {
		int cpu = READ_ONCE(v->req.cpu);
		if (cpu < 0 || (unsigned)cpu >= nr_possible_cpus || !cpu_is_online((unsigned)cpu) ||
		    !virt_cpu_enabled((unsigned)cpu)) {
			snprintf(why, len, "%s is in guest mode on cpu %d, which is %s", v->name, cpu,
				 cpu < 0 || (unsigned)cpu >= nr_possible_cpus ? "not a CPU"
				 : !cpu_is_online((unsigned)cpu) ? cpu_state_name(cpu_table[cpu].state)
								: "without virtualization");
			return -1;
		}
	}
	int where = READ_ONCE(v->where);
	if (state != VCPU_STOPPED && READ_ONCE(v->task) && where >= 0 && !READ_ONCE(v->frozen) && !READ_ONCE(v->outside) &&
	    !cpu_is_online((unsigned)where)) {
		snprintf(why, len, "%s runs on cpu %d, which is %s", v->name, where,
			 cpu_state_name(cpu_table[where].state));
		return -1;
	}
	return 0;
}

/* One pass.  Returns -1 (why) on a violation, else the number of VMs that
 * still owe progress; *commit: record the baselines. */
static int scan(char *why, size_t len, bool commit)
{
	int owing = 0;
	cpus_read_lock();
	mutex_lock(&vm_list_lock);
	for (struct vm *vm = vm_first_locked(); vm && owing >= 0; vm = vm->next) {
		for (unsigned i = 0; !commit && vm->vcpus && i < vm->nr_vcpus && owing >= 0; i++)
			if (check_vcpu(vm->vcpus[i], why, len) != 0)
				owing = -1;
		if (owing < 0)
			break;
		bool running = vm->live_state == VM_RUNNING;
		uint64_t p = vm_progress(vm);
		if (running && vm->seen_running && p == vm->progress_seen && !commit)
			owing++;
		if (commit) {
			vm->seen_running = running;
			vm->progress_seen = p;
		}
	}
	mutex_unlock(&vm_list_lock);
	cpus_read_unlock();
	return owing;
}

/* The names of the VMs still owing progress, for the report. */
static void name_owing(char *why, size_t len)
{
	size_t pos = (size_t)snprintf(why, len, "no guest progress since the previous check in vm");
	mutex_lock(&vm_list_lock);
	for (struct vm *vm = vm_first_locked(); vm && pos < len; vm = vm->next)
		if (vm->live_state == VM_RUNNING && vm->seen_running && vm_progress(vm) == vm->progress_seen)
			pos += (size_t)snprintf(why + pos, len - pos, " %u", vm->id);
	mutex_unlock(&vm_list_lock);
}

static int vcpu_invariant(char *why, size_t len)
{
	uint64_t deadline = arch_time_ns() + PROGRESS_WAIT_NS;
	int r;
	while ((r = scan(why, len, false)) > 0 && arch_time_ns() < deadline)
		sleep_ns(PROGRESS_POLL_NS);
	if (r > 0)
		name_owing(why, len);
	scan(why, 0, true);
	return r == 0 ? 0 : -1;
}
INVARIANT(vcpu_live, vcpu_invariant);

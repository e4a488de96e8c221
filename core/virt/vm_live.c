/*
 * Live VMs: starting, stopping, pausing and resuming a VM's vCPU tasks,
 * pinning them, and their statistics (include/vigil/vcpu.h; docs/design.md
 * "Live VMs").
 *
 * Locks (docs/locking.md):
 *
 *     vm_life_lock (mutex)          one life-cycle operation at a time: start,
 *                                   stop, pause, resume, destroy.  Held while
 *                                   waiting for vCPU tasks (join, pause ack).
 *       cpus_read_lock              (vcpu pin, the check)
 *         vm_list_lock (mutex)      the VM list, vm->live_state, vcpu->pin;
 *                                   never held while waiting for a vCPU
 *
 * A vCPU task takes none of them, so waiting for one under vm_life_lock
 * cannot deadlock; the hotplug teardown (under the hotplug write lock) and
 * the freezer's kick take only vm_list_lock, which nobody holds while
 * waiting, so a stop that waits for a frozen vCPU cannot block a suspend.
 */
#include <vigil/cpu.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/mm.h>
#include <vigil/mutex.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include <vigil/memslot.h>
#include <vigil/vcpu.h>
#include "virt_internal.h"

DEFINE_MUTEX(vm_life_lock);

const char *vm_state_name(int state)
{
	switch (state) {
	case VM_STOPPED: return "stopped";
	case VM_RUNNING: return "running";
	case VM_PAUSED: return "paused";
	default: return "?";
	}
}

int vm_vcpus_alloc(struct vm *vm, unsigned nr, char *why, size_t len)
{
	vm->vcpus = kzalloc(sizeof(*vm->vcpus) * nr);
	if (!vm->vcpus)
		return why_fail(why, len, WHY_NOMEM, "out of memory for %u vCPUs", nr);
	for (unsigned i = 0; i < nr; i++) {
		struct vcpu *v = kzalloc(sizeof(*v));
		if (!v) {
			vm_vcpus_free(vm);
			return why_fail(why, len, WHY_NOMEM, "out of memory for %u vCPUs", nr);
		}
		v->vm = vm;
		v->index = i;
		v->pin = TASK_ANY_CPU;
		v->last_cpu = -1;
		v->where = -1;
		v->run.guest = vm->guest;
		vcpu_requests_init(&v->req);
		vm->vcpus[i] = v;
	}
	vm->nr_vcpus = nr;
	return 0;
}

/* Once the VM has its id. */
void vm_vcpus_name(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		snprintf(vm->vcpus[i]->name, sizeof(vm->vcpus[i]->name), "vcpu%u.%u", vm->id, i);
}

/* Every task stopped (vm_live_teardown), or never started. */
void vm_vcpus_free(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	const struct virt_ops *ops = virt_ops_current();
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		if (!v)
			continue;
		if (v->arch && ops)
			ops->vcpu_destroy(v);
		kfree(v);
	}
	kfree(vm->vcpus);
	vm->vcpus = NULL;
}

static void set_state(struct vm *vm, int state)
{
	mutex_lock(&vm_list_lock);
	vm->live_state = state;
	mutex_unlock(&vm_list_lock);
}

static void stop_tasks(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_task_stop(vm->vcpus[i]);
}

/* Look the VM up for a life-cycle operation (vm_life_lock held: it cannot
 * go away until that is dropped). */
static struct vm *life_find(unsigned id, char *why, size_t len)
{
	mutex_lock(&vm_list_lock);
	struct vm *vm = vm_find_locked(id);
	if (!vm)
		snprintf(why, len, "no VM with id %u (try 'vm list')", id);
	else if (vm->running) {
		snprintf(why, len, "vm %u is in a 'vm run' burst", id);
		vm = NULL;
	}
	mutex_unlock(&vm_list_lock);
	return vm;
}

int vm_start(unsigned id, char *why, size_t len)
{
	const struct virt_ops *ops = virt_ops_current();
	int r = -1;
	mutex_lock(&vm_life_lock);
	struct vm *vm = life_find(id, why, len);
	if (!vm)
		goto out;
	if (vm->live_state != VM_STOPPED) {
		snprintf(why, len, "vm %u is already %s", id, vm_state_name(vm->live_state));
		goto out;
	}
	if (vcpu_entries_refused()) {
		snprintf(why, len, "the system is rebooting");
		goto out;
	}
	/* Its guest's code lives in slot memory: with none, every vCPU would
	 * stop at its first instruction fetch.  Say so before starting any. */
	struct memslot_pair *slots = vm_memslot_pair(vm);
	const struct memslot_set *active = slots ? __atomic_load_n(&slots->active, __ATOMIC_ACQUIRE) : NULL;
	if (slots && (!active || active->nr == 0)) {
		snprintf(why, len, "vm %u has no memory slots (vm slot add)", id);
		goto out;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		if (!v->arch && ops->vcpu_create(v, why, len) != 0)
			goto out;
	}
	/* Running before the first task starts: the VM-list lock is not held
	 * while they run, and a task that fails at once must find its VM
	 * running for `vm stop` to join it. */
	set_state(vm, VM_RUNNING);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_task_start(vm->vcpus[i], why, len);
		if (r != 0) {
			stop_tasks(vm);
			set_state(vm, VM_STOPPED);
			goto out;
		}
	}
	r = 0;
out:
	mutex_unlock(&vm_life_lock);
	return r;
}

/* vm_life_lock held. */
static void stop_locked(struct vm *vm)
{
	stop_tasks(vm);
	set_state(vm, VM_STOPPED);
}

int vm_stop(unsigned id, char *why, size_t len)
{
	int r = -1;
	mutex_lock(&vm_life_lock);
	struct vm *vm = life_find(id, why, len);
	if (!vm)
		goto out;
	if (vm->live_state == VM_STOPPED) {
		snprintf(why, len, "vm %u is not running", id);
		goto out;
	}
	stop_locked(vm);
	r = 0;
out:
	mutex_unlock(&vm_life_lock);
	return r;
}

void vm_live_stop_locked(struct vm *vm)
{
	if (vm->live_state != VM_STOPPED)
		stop_locked(vm);
}

int vm_pause(unsigned id, char *why, size_t len)
{
	int r = -1;
	mutex_lock(&vm_life_lock);
	struct vm *vm = life_find(id, why, len);
	if (!vm)
		goto out;
	if (vm->live_state != VM_RUNNING) {
		snprintf(why, len, "vm %u is %s", id,
			 vm->live_state == VM_PAUSED ? "already paused" : "stopped: nothing to pause");
		goto out;
	}
	set_state(vm, VM_PAUSED);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		int running = VCPU_RUNNING;
		if (__atomic_compare_exchange_n(&v->state, &running, VCPU_PAUSED, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			vcpu_request_and_wait(&v->req, VCPU_REQ_PAUSE); /* out of the guest on return */
	}
	r = 0;
out:
	mutex_unlock(&vm_life_lock);
	return r;
}

int vm_resume(unsigned id, char *why, size_t len)
{
	int r = -1;
	mutex_lock(&vm_life_lock);
	struct vm *vm = life_find(id, why, len);
	if (!vm)
		goto out;
	if (vm->live_state != VM_PAUSED) {
		snprintf(why, len, "vm %u is %s, not paused", id, vm_state_name(vm->live_state));
		goto out;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		int paused = VCPU_PAUSED;
		if (__atomic_compare_exchange_n(&v->state, &paused, VCPU_RUNNING, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			vcpu_kick(&v->req);  /* wakes it in its park */
	}
	set_state(vm, VM_RUNNING);
	r = 0;
out:
	mutex_unlock(&vm_life_lock);
	return r;
}

int vcpu_pin(unsigned id, unsigned index, int cpu, char *why, size_t len)
{
	int r = -1;
	cpus_read_lock();
	mutex_lock(&vm_list_lock);
	struct vm *vm = vm_find_locked(id);
	if (!vm) {
		snprintf(why, len, "no VM with id %u (try 'vm list')", id);
		goto out;
	}
	if (index >= vm->nr_vcpus || !vm->vcpus) {
		snprintf(why, len, "vm %u has no vCPU %u (it has %u: 0..%u)", id, index, vm->nr_vcpus,
			 vm->nr_vcpus ? vm->nr_vcpus - 1 : 0);
		goto out;
	}
	if (cpu >= 0 && (unsigned)cpu >= nr_possible_cpus) {
		snprintf(why, len, "cpu %d does not exist (0..%u)", cpu, nr_possible_cpus - 1);
		goto out;
	}
	if (cpu >= 0 && !cpu_is_online((unsigned)cpu)) {
		snprintf(why, len, "cpu %d is %s", cpu, cpu_state_name(cpu_table[cpu].state));
		goto out;
	}
	if (cpu >= 0 && !vcpu_cpu_usable((unsigned)cpu)) {
		snprintf(why, len, "cpu %d: virtualization is not enabled there", cpu);
		goto out;
	}
	struct vcpu *v = vm->vcpus[index];
	WRITE_ONCE(v->pin, cpu);
	__atomic_store_n(&v->rebind, 1, __ATOMIC_SEQ_CST);
	vcpu_kick(&v->req);
	r = 0;
out:
	mutex_unlock(&vm_list_lock);
	cpus_read_unlock();
	return r;
}

int vm_live_state(unsigned id)
{
	mutex_lock(&vm_list_lock);
	struct vm *vm = vm_find_locked(id);
	int s = vm ? vm->live_state : -1;
	mutex_unlock(&vm_list_lock);
	return s;
}

void vcpu_for_each(void (*fn)(struct vcpu *v, void *arg), void *arg)
{
	mutex_lock(&vm_list_lock);
	for (struct vm *vm = vm_first_locked(); vm; vm = vm->next)
		for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
			fn(vm->vcpus[i], arg);
	mutex_unlock(&vm_list_lock);
}

static void append(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);
	if (n < size)
		strlcpy(buf + n, s, size - n);
}

static uint64_t rd(const volatile uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int vm_stat(unsigned id, void (*fn)(const char *line, void *arg), void *arg, char *why, size_t len)
{
	static char line[512];  /* one `vm stat` at a time: under vm_list_lock */
	mutex_lock(&vm_list_lock);
	struct vm *vm = vm_find_locked(id);
	if (!vm) {
		mutex_unlock(&vm_list_lock);
		snprintf(why, len, "no VM with id %u (try 'vm list')", id);
		return -1;
	}
	uint64_t total[VEXIT_COUNT] = { 0 };
	snprintf(line, sizeof(line), "vm=%u state=%s vcpus=%u mem=%lu mmio_exits=%lu\n", vm->id,
		 vm_state_name(vm->live_state), vm->nr_vcpus, (unsigned long)vm->slots[0].size,
		 (unsigned long)rd(&vm->mmio_exits));
	fn(line, arg);
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		for (unsigned e = 0; e < VEXIT_COUNT; e++)
			total[e] += rd(&v->run.exit_count[e]);
		int n = snprintf(line, sizeof(line),
				 "vcpu=%u state=%s cpu=%d entries=%lu exits=%lu migrations=%lu kicks=%d progress=%lu "
				 "errors=%lu halts=%lu moves=%lu pin=%d mmio_exits=%lu fault_retries=%lu max_fault_retries=%u",
				 i, vcpu_state_name(READ_ONCE(v->state)), READ_ONCE(v->last_cpu), (unsigned long)rd(&v->entries),
				 (unsigned long)rd(&v->run.exits), (unsigned long)rd(&v->migrations),
				 atomic_read(&v->req.kicks), (unsigned long)rd(&v->run.progress),
				 (unsigned long)rd(&v->run.guest_errors), (unsigned long)rd(&v->halts),
				 (unsigned long)rd(&v->moves), READ_ONCE(v->pin), (unsigned long)rd(&v->run.mmio_exits),
				 (unsigned long)rd(&v->run.fault_retries), READ_ONCE(v->run.max_fault_retries));
		if (READ_ONCE(v->state) == VCPU_FAILED && n > 0 && (size_t)n < sizeof(line))
			snprintf(line + n, sizeof(line) - (size_t)n, " error=\"%s\"", v->error);
		append(line, sizeof(line), "\n");
		fn(line, arg);
	}
	size_t pos = (size_t)snprintf(line, sizeof(line), "exits");
	for (unsigned e = 1; e < VEXIT_COUNT && pos < sizeof(line); e++)
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, " %s=%lu", vexit_name((enum vexit)e),
					(unsigned long)total[e]);
	append(line, sizeof(line), "\n");
	fn(line, arg);
	mutex_unlock(&vm_list_lock);
	return 0;
}

/*
 * VMs: a usage reference, nested paging, one memory slot holding the test
 * guest, and runs of that guest on a chosen CPU.  The VM list has its own
 * lock, never held around enabling (see usage.c and docs/locking.md).
 */
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/memslot.h>
#include <vigil/mm.h>
#include <vigil/mutex.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/task.h>
#include <vigil/vcpu.h>
#include <vigil/vcpu_request.h>
#include <vigil/virt.h>
#include <vigil/vm_gate.h>
#include <vigil/why.h>
#include "virt_internal.h"

DEFINE_MUTEX(vm_list_lock);
static struct vm *vm_list;
static unsigned next_vm_id = 1;
static unsigned nr_vms;

#define GUEST_SLOT_ORDER 4  /* 64 KiB at guest-physical 0: the VM of `vm run` */
#define GUEST_MAX_ORDER 12  /* 16 MiB: the largest slot 0 of a live VM */

static struct vm *find_locked(unsigned id);

static const struct virt_ops *vm_ops(void)
{
	return virt_ops_current();
}

struct vm *vm_first_locked(void)
{
	return vm_list;
}

struct vm *vm_find_locked(unsigned id)
{
	return find_locked(id);
}

static struct vm *find_locked(unsigned id)
{
	for (struct vm *vm = vm_list; vm; vm = vm->next)
		if (vm->id == id)
			return vm;
	return NULL;
}

static void free_vm_memory(struct vm *vm)
{
	const struct virt_ops *ops = vm_ops();
	vm_memslots_free(vm);  /* first: its slot 0 borrows slots[0]'s pages */
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++) {
		struct vm_slot *s = &vm->slots[i];
		if (!s->used)
			continue;
		if (vm->arch)
			ops->vm_unmap_slot(vm, s);
		pmm_free_pages(s->hpa, s->order);
		s->used = false;
	}
	if (vm->arch)
		ops->vm_destroy(vm);
	vm->arch = NULL;
}

static int build_vm(struct vm *vm, unsigned order, unsigned nr_vcpus, char *why, size_t len)
{
	const struct virt_ops *ops = vm_ops();
	int r = ops->vm_init(vm, why, len);
	if (r != 0)
		return r;
	struct vm_slot *s = &vm->slots[0];
	s->hpa = pmm_alloc_pages(order);
	if (!s->hpa)
		return why_fail(why, len, WHY_NOMEM, "out of memory for %lu KiB of guest memory",
				(unsigned long)((PAGE_SIZE << order) / 1024));
	s->order = order;
	s->gpa = 0;
	s->size = PAGE_SIZE << order;
	s->used = true;
	memset(phys_to_virt(s->hpa), 0, s->size);
	r = vm_memslots_init(vm, why, len);  /* slot 0 = this memory (core/virt/memslot_vm.c) */
	if (r != 0)
		return r;
	r = ops->vm_map_slot(vm, s, why, len);
	if (r != 0)
		return r;
	vm->guest = GUEST_PATTERN;
	return vm_vcpus_alloc(vm, nr_vcpus, why, len);
}

/* The slot order for mem bytes (0: the default for nr vCPUs: room for the
 * pattern guest and a pattern area of about 16 KiB each). */
static int slot_order(unsigned nr, uint64_t mem, unsigned *order, char *why, size_t len)
{
	if (!mem) {
		mem = guest_pattern_min_mem(nr) + (uint64_t)nr * 16384;
		if (mem < (PAGE_SIZE << GUEST_SLOT_ORDER))
			mem = PAGE_SIZE << GUEST_SLOT_ORDER;
	}
	if (mem > (PAGE_SIZE << GUEST_MAX_ORDER))
		return why_fail(why, len, WHY_OTHER, "mem=%lu KiB is more than the %lu KiB a VM may have",
				(unsigned long)(mem / 1024), (unsigned long)((PAGE_SIZE << GUEST_MAX_ORDER) / 1024));
	unsigned o = 0;
	while ((PAGE_SIZE << o) < mem)
		o++;
	*order = o;
	return 0;
}

int vm_create(unsigned *id, char *why, size_t len)
{
	return vm_create_live(id, 1, PAGE_SIZE << GUEST_SLOT_ORDER, why, len);
}

int vm_create_live(unsigned *id, unsigned nr_vcpus, uint64_t mem, char *why, size_t len)
{
	unsigned order = 0;
	if (nr_vcpus == 0 || nr_vcpus > nr_possible_cpus)
		return why_fail(why, len, WHY_OTHER, "vcpus=%u: a VM has 1 to %u vCPUs (the possible CPUs)",
				nr_vcpus, nr_possible_cpus);
	int r = slot_order(nr_vcpus, mem, &order, why, len);
	if (r != 0)
		return r;
	struct vm *vm = kzalloc(sizeof(*vm));
	if (!vm)
		return why_fail(why, len, WHY_NOMEM, "out of memory");
	vm->req = kzalloc(sizeof(*vm->req));
	vm->gate = kzalloc(sizeof(*vm->gate));
	if (!vm->req || !vm->gate) {
		kfree(vm->req);
		kfree(vm->gate);
		kfree(vm);
		return why_fail(why, len, WHY_NOMEM, "out of memory");
	}
	vcpu_requests_init(vm->req);
	vm_gate_init(vm->gate);
	r = virt_get(why, len);
	if (r != 0)
		goto out_free;
	r = build_vm(vm, order, nr_vcpus, why, len);
	if (r != 0)
		goto out_put;
	mutex_lock(&vm_list_lock);
	vm->id = next_vm_id++;
	vm_vcpus_name(vm);
	vm_memslots_named(vm);
	vm->next = vm_list;
	vm_list = vm;
	nr_vms++;
	mutex_unlock(&vm_list_lock);
	*id = vm->id;
	return 0;

out_put:
	vm_vcpus_free(vm);
	free_vm_memory(vm);
	virt_put();
out_free:
	kfree(vm->req);
	kfree(vm->gate);
	kfree(vm);
	return r; /* 0 or -cause (vigil/why.h): the cause survives for the caller */
}

static int vm_destroy_locked(unsigned id, char *why, size_t len);

int vm_destroy(unsigned id, char *why, size_t len)
{
	/* A running VM is stopped first; vm_life_lock keeps another
	 * life-cycle operation from starting it again before it is gone. */
	mutex_lock(&vm_life_lock);
	int r = vm_destroy_locked(id, why, len);
	mutex_unlock(&vm_life_lock);
	return r;
}

static int vm_destroy_locked(unsigned id, char *why, size_t len)
{
	mutex_lock(&vm_list_lock);
	struct vm *vm = find_locked(id);
	if (!vm) {
		mutex_unlock(&vm_list_lock);
		snprintf(why, len, "no VM with id %u (try 'vm list')", id);
		return -1;
	}
	if (vm->running) {
		mutex_unlock(&vm_list_lock);
		snprintf(why, len, "vm %u is running", id);
		return -1;
	}
	mutex_unlock(&vm_list_lock);
	vm_live_stop_locked(vm);
	mutex_lock(&vm_list_lock);
	for (struct vm **pp = &vm_list; *pp; pp = &(*pp)->next)
		if (*pp == vm) {
			*pp = vm->next;
			break;
		}
	nr_vms--;
	mutex_unlock(&vm_list_lock);
	/* The slots first: an update under way may still be asking the
	 * vCPUs to flush (memslot_vm.c, changed()); this waits for it. */
	vm_memslots_free(vm);
	vm_vcpus_free(vm);
	free_vm_memory(vm);
	kfree(vm->req);
	kfree(vm->gate);
	kfree(vm);
	virt_put();
	return 0;
}

unsigned vm_count(void)
{
	return __atomic_load_n(&nr_vms, __ATOMIC_RELAXED);
}

/* The guest misbehaved: the VM is destroyed, nothing else changes. */
static void destroy_failed_vm(struct vm *vm)
{
	char why[WHY_MAX];
	mutex_lock(&vm_list_lock);
	vm->running = false;
	mutex_unlock(&vm_list_lock);
	vm_destroy(vm->id, why, sizeof(why));
}

struct vcpu_requests *vm_requests(unsigned id)
{
	mutex_lock(&vm_list_lock);
	struct vm *vm = find_locked(id);
	struct vcpu_requests *req = vm ? vm->req : NULL;
	mutex_unlock(&vm_list_lock);
	return req;
}

int vm_run(unsigned id, unsigned cpu, struct vcpu_run *run, char *why, size_t len)
{
	mutex_lock(&vm_list_lock);
	struct vm *vm = find_locked(id);
	if (!vm) {
		mutex_unlock(&vm_list_lock);
		snprintf(why, len, "no VM with id %u (try 'vm list')", id);
		return -1;
	}
	if (vm->running) {
		mutex_unlock(&vm_list_lock);
		snprintf(why, len, "vm %u is already running", id);
		return -1;
	}
	if (vm->live_state != VM_STOPPED) {
		mutex_unlock(&vm_list_lock);
		snprintf(why, len, "vm %u is %s (live): 'vm stop %u' first", id, vm_state_name(vm->live_state), id);
		return -1;
	}
	/* A burst loads its own guest into slot 0, under the live vCPUs'
	 * saved state: they would resume in foreign code. */
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->arch) {
			mutex_unlock(&vm_list_lock);
			snprintf(why, len, "vm %u has live vCPUs (it was started): a burst would overwrite their guest", id);
			return -1;
		}
	vm->running = true;
	mutex_unlock(&vm_list_lock);

	/* The CPU must stay online while the guest runs on it. */
	cpus_read_lock();
	int r = 0;
	if (!cpu_is_online(cpu)) {
		snprintf(why, len, "cpu %u is %s", cpu, cpu < nr_possible_cpus ? cpu_state_name(cpu_table[cpu].state) : "not present");
		r = -1;
	} else {
		int old_bound = sched_pin_current(cpu);
		preempt_disable();
		if (smp_processor_id() != cpu || !virt_cpu_enabled(cpu)) {
			if (virt_cpu_degraded(cpu)[0])
				snprintf(why, len, "cpu %u: virtualization is off there since its re-enable on resume "
					 "failed (%s); try 'virt retry'", cpu, virt_cpu_degraded(cpu));
			else
				snprintf(why, len, "cpu %u: virtualization is not enabled there", cpu);
			r = -1;
		} else {
			run->req = vm->req;
			r = vm_ops()->vcpu_run(vm, run);
			if (r != 0)
				snprintf(why, len, "%s", run->why);
		}
		preempt_enable();
		sched_bind_current(old_bound);
	}
	cpus_read_unlock();

	if (r == 0 && run->guest_failed) {
		printk("vm %u: guest stopped: %s; VM destroyed\n", id, run->why);
		destroy_failed_vm(vm);
		return 0;
	}
	mutex_lock(&vm_list_lock);
	vm->running = false;
	vm->runs++;
	mutex_unlock(&vm_list_lock);
	return r;
}

uint64_t vm_mmio_exits(unsigned id)
{
	mutex_lock(&vm_list_lock);
	struct vm *vm = find_locked(id);
	uint64_t n = vm ? __atomic_load_n(&vm->mmio_exits, __ATOMIC_RELAXED) : 0;
	mutex_unlock(&vm_list_lock);
	return n;
}

/* For `vm list`: call fn for each VM under the list lock. */
void vm_for_each(void (*fn)(const struct vm *vm, void *arg), void *arg)
{
	mutex_lock(&vm_list_lock);
	for (struct vm *vm = vm_list; vm; vm = vm->next)
		fn(vm, arg);
	mutex_unlock(&vm_list_lock);
}

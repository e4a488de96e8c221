/*
 * The VMX live-vCPU self-test's and benches' shared helpers
 * (vmx_vcpu_test.h).
 */
#include "vmx_vcpu_test.h"
#include <vigil/arch.h>
#include <vigil/mm.h>
#include <vigil/sched.h>
#include <vigil/smp.h>
#include <vigil/string.h>

/* ---- on / off on a CPU, by cross-CPU call ---- */

struct onoff {
	bool on;
	int rc;
	bool was_on;
	char why[WHY_MAX];
};

static void onoff_here(void *arg)
{
	struct onoff *o = arg;
	o->rc = 0;
	if (o->on) {
		o->was_on = vmx_hw_enabled();
		if (!o->was_on)
			o->rc = vmx_enable(o->why, sizeof(o->why));
	} else {
		vmx_disable();
	}
}

int vmx_on(struct live_test *t, unsigned cpu)
{
	struct onoff o = { .on = true };
	if (vmx_prepare_cpu(cpu)) {
		snprintf(t->why, sizeof(t->why), "prepare_cpu(%u) failed", cpu);
		return -1;
	}
	if (smp_call_function_single(cpu, onoff_here, &o, true)) {
		snprintf(t->why, sizeof(t->why), "CPU %u is offline", cpu);
		return -1;
	}
	if (o.rc) {
		snprintf(t->why, sizeof(t->why), "enabling VMX on CPU %u: %s", cpu, o.why);
		return -1;
	}
	t->enabled[cpu] = t->enabled[cpu] || !o.was_on;
	return 0;
}

void vmx_off(struct live_test *t, unsigned cpu)
{
	struct onoff o = { .on = false };
	if (t->enabled[cpu])
		(void)smp_call_function_single(cpu, onoff_here, &o, true);
	t->enabled[cpu] = false;
}

/* ---- the VM and its vCPUs ---- */

int make_vm(struct live_test *t, enum guest_kind kind, unsigned nr)
{
	t->vm = kzalloc(sizeof(*t->vm));
	uint64_t pa = pmm_alloc_pages(SLOT_ORDER);
	if (!t->vm || !pa) {
		if (pa)
			pmm_free_pages(pa, SLOT_ORDER);
		snprintf(t->why, sizeof(t->why), "out of memory for the test VM");
		return -1;
	}
	memset(phys_to_virt(pa), 0, SLOT_SIZE);
	t->vm->id = 9997;
	t->vm->guest = kind;
	t->vm->nr_vcpus = nr;
	t->vm->slots[0] = (struct vm_slot){ .gpa = 0, .size = SLOT_SIZE, .hpa = pa, .order = SLOT_ORDER, .used = true };
	if (vmx_vm_init(t->vm, t->why, sizeof(t->why)) ||
	    vmx_vm_map_slot(t->vm, &t->vm->slots[0], t->why, sizeof(t->why)))
		return -1;
	for (unsigned i = 0; i < nr; i++) {
		struct vcpu *v = kzalloc(sizeof(*v));
		if (!v) {
			snprintf(t->why, sizeof(t->why), "out of memory for vCPU %u", i);
			return -1;
		}
		v->vm = t->vm;
		v->index = i;
		v->last_cpu = -1;
		v->run.guest = kind;
		snprintf(v->name, sizeof(v->name), "vcpu%u.%u", t->vm->id, i);
		t->vcpus[t->nr++] = v;
		if (vmx_vcpu_create(v, t->why, sizeof(t->why)))
			return -1;
	}
	return 0;
}

void destroy_vcpus(struct live_test *t)
{
	for (unsigned i = 0; i < t->nr; i++) {
		if (t->vcpus[i]->arch)
			vmx_vcpu_destroy(t->vcpus[i]);
		kfree(t->vcpus[i]);
		t->vcpus[i] = NULL;
	}
	t->nr = 0;
}

void destroy_vm(struct live_test *t)
{
	destroy_vcpus(t);
	if (!t->vm)
		return;
	if (t->vm->arch) {
		vmx_vm_unmap_slot(t->vm, &t->vm->slots[0]);
		vmx_vm_destroy(t->vm);
	}
	if (t->vm->slots[0].used)
		pmm_free_pages(t->vm->slots[0].hpa, SLOT_ORDER);
	kfree(t->vm);
	t->vm = NULL;
}

/* One pass of the core's loop (vigil/vcpu.h) without requests: preemption
 * off (the caller's), load, enter with interrupts off, handle with them
 * on.  HLT simply enters again: nothing here sleeps. */
enum vcpu_exit_action step(struct vcpu *vcpu, char *why, size_t len)
{
	unsigned cpu = smp_processor_id();
	if (vmx_vcpu_load(vcpu, cpu, why, len))
		return VCPU_EXIT_HOST_FAILED;
	unsigned long flags = arch_irq_save();
	bool ran = vmx_vcpu_enter(vcpu);
	arch_irq_restore(flags);
	if (!ran) {
		snprintf(why, len, "vcpu_enter did not enter on CPU %u", cpu);
		return VCPU_EXIT_HOST_FAILED;
	}
	vcpu->entries++;
	if (vcpu->last_cpu >= 0 && vcpu->last_cpu != (int)cpu)
		vcpu->migrations++;
	vcpu->last_cpu = (int)cpu;
	enum vcpu_exit_action a = vmx_vcpu_handle_exit(vcpu);
	if (a == VCPU_EXIT_GUEST_FAILED || a == VCPU_EXIT_HOST_FAILED)
		snprintf(why, len, "%s", vcpu->error);
	return a;
}

/*
 * A VM's VMX state: its EPT (vmx_ept.c) and the EPTP that names it.  The
 * VMCS itself is built per run (vmx_run.c).
 */
#include "vmx_internal.h"
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/spinlock.h>
#include <vigil/string.h>
#include <vigil/why.h>

int vmx_vm_init(struct vm *vm, char *why, size_t len)
{
	if (!vmx_caps.probed) {
		snprintf(why, len, "VMX was not probed on this machine");
		return -1;
	}
	struct vmx_vm *v = kzalloc(sizeof(*v));
	if (!v)
		return why_fail(why, len, WHY_NOMEM, "out of memory for the VM's EPT state");
	if (vmx_ept_init(v)) {
		kfree(v);
		return why_fail(why, len, WHY_NOMEM, "out of memory for the EPT PML4");
	}
	v->ept_lock = kzalloc(sizeof(*v->ept_lock));
	if (!v->ept_lock) {
		vmx_ept_free(v);
		kfree(v);
		return why_fail(why, len, WHY_NOMEM, "out of memory for the VM's EPT state");
	}
	spin_lock_init(v->ept_lock);
	vm->arch = v;
	return 0;
}

int vmx_vm_map_slot(struct vm *vm, const struct vm_slot *s, char *why, size_t len)
{
	struct vmx_vm *v = vm->arch;
	if (!v) {
		snprintf(why, len, "VM has no EPT (vm_init not run)");
		return -1;
	}
	/* A VM with memory slots (every VM of vm_create) maps nothing up
	 * front: its pages come from the slots on EPT violations
	 * (arch/x86/virt/guest_fault.c).  The backend self-tests' VMs have no
	 * slots and are mapped here, whole. */
	if (vm->memslots)
		return 0;
	return vmx_ept_map(v, s->gpa, s->hpa, s->size, why, len);
}

void vmx_vm_unmap_slot(struct vm *vm, const struct vm_slot *s)
{
	struct vmx_vm *v = vm->arch;
	if (v)
		vmx_ept_unmap(v, s->gpa, s->size);
}

/* A slot went away or moved (the core's changed hook, slots lock held):
 * drop its pages from the EPT under ept_lock (vmx_ept_unmap also INVEPTs
 * here when VMX is on), then make every vCPU INVEPT before its next entry
 * (29.4.3.1: cached guest-physical mappings survive an EPT change until
 * invalidated, on every CPU that ran the VM).  The core kicks the live
 * vCPUs and waits until they are out of the guest. */
void vmx_vm_zap_range(struct vm *vm, uint64_t gpa, uint64_t size)
{
	struct vmx_vm *v = vm->arch;
	if (!v)
		return;
	unsigned long flags;
	spin_lock_irqsave(v->ept_lock, flags);
	pt_unmap(&v->ept, gpa, size);
	__atomic_add_fetch(&v->tlb_gen, 1, __ATOMIC_SEQ_CST);
	spin_unlock_irqrestore(v->ept_lock, flags);
	vmx_ept_unmap(v, gpa, 0);  /* nothing more to unmap: the local INVEPT */
}

void vmx_vm_destroy(struct vm *vm)
{
	struct vmx_vm *v = vm->arch;
	if (!v)
		return;
	vmx_ept_free(v);
	if (v->ept.tables)
		printk("vmx: EPT of VM %u: %u tables not freed\n", vm->id, v->ept.tables);
	kfree(v->ept_lock);
	kfree(v);
	vm->arch = NULL;
}

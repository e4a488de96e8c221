/*
 * A VM's VMX state: its EPT (vmx_ept.c) and the EPTP that names it.  The
 * VMCS itself is built per run (vmx_run.c).
 */
#include "vmx_internal.h"
#include <vigil/mm.h>
#include <vigil/printk.h>
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
	return vmx_ept_map(v, s->gpa, s->hpa, s->size, why, len);
}

void vmx_vm_unmap_slot(struct vm *vm, const struct vm_slot *s)
{
	struct vmx_vm *v = vm->arch;
	if (v)
		vmx_ept_unmap(v, s->gpa, s->size);
}

/* VMX still maps slot 0 once, when the VM is built (vmx_vm_map_slot), and
 * has no on-demand mapping from the slots yet: a slot change does not reach
 * the EPT, so there is nothing to zap (docs/design.md, "Memory slots"). */
void vmx_vm_zap_range(struct vm *vm, uint64_t gpa, uint64_t size)
{
	(void)vm;
	(void)gpa;
	(void)size;
}

void vmx_vm_destroy(struct vm *vm)
{
	struct vmx_vm *v = vm->arch;
	if (!v)
		return;
	vmx_ept_free(v);
	if (v->ept.tables)
		printk("vmx: EPT of VM %u: %u tables not freed\n", vm->id, v->ept.tables);
	kfree(v);
	vm->arch = NULL;
}

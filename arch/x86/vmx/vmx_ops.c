/* The VMX backend behind include/vigil/virt.h (the pieces: vmx_internal.h). */
#include "vmx_internal.h"

const struct virt_ops vmx_ops = {
	.name = "vmx",
	.probe = vmx_probe,
	.prepare_cpu = vmx_prepare_cpu,
	.snapshot = vmx_snapshot,
	.enable = vmx_enable,
	.disable = vmx_disable,
	.hw_enabled = vmx_hw_enabled,
	.emergency_disable = vmx_emergency_disable,
	.vm_init = vmx_vm_init,
	.vm_destroy = vmx_vm_destroy,
	.vm_map_slot = vmx_vm_map_slot,
	.vm_unmap_slot = vmx_vm_unmap_slot,
	.vcpu_run = vmx_vcpu_run,
};

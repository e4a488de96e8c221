/*
 * The SVM backend behind the virt_ops interface (vigil/virt.h).  Each
 * operation lives in the file named after its concept: svm_probe.c,
 * svm_compat.c, svm_cpu.c, svm_vm.c (+ svm_npt.c), svm_run.c.
 */
#include "svm_internal.h"

const struct virt_ops svm_ops = {
	.name = "svm",
	.probe = svm_probe,
	.prepare_cpu = svm_prepare_cpu,
	.snapshot = svm_snapshot,
	.enable = svm_enable,
	.disable = svm_disable,
	.hw_enabled = svm_hw_enabled,
	.emergency_disable = svm_emergency_disable,
	.vm_init = svm_vm_init,
	.vm_destroy = svm_vm_destroy,
	.vm_map_slot = svm_vm_map_slot,
	.vm_unmap_slot = svm_vm_unmap_slot,
	.vcpu_run = svm_vcpu_run,
};

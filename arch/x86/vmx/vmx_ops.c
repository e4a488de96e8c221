/*
 * The VMX backend behind the virt_ops interface (vigil/virt.h).  Each
 * operation lives in the file named after its concept, as in svm/:
 * vmx_probe.c, vmx_compat.c, vmx_cpu.c, vmx_vm.c (+ vmx_ept.c), vmx_run.c
 * (+ vmx_exit.c); vmx_internal.h lists them all.
 */
#include "vmx_internal.h"

const struct virt_ops vmx_ops = VIRT_OPS_INIT(vmx);

/*
 * The SVM backend behind the virt_ops interface (vigil/virt.h).  Each
 * operation lives in the file named after its concept: svm_probe.c,
 * svm_compat.c, svm_cpu.c, svm_vm.c (+ svm_npt.c), svm_run.c.
 */
#include "svm_internal.h"

const struct virt_ops svm_ops = VIRT_OPS_INIT(svm);

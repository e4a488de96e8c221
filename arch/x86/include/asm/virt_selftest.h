/* Checks shared by the VMX and SVM guest self-tests (arch/x86/virt/). */
#ifndef ASM_VIRT_SELFTEST_H
#define ASM_VIRT_SELFTEST_H
#include <vigil/selftest.h>
#include <vigil/virt.h>
/* A GUEST_NORMAL run of max exits: it succeeded, counted every exit, went
 * round its CPUID/OUT/hypercall/HLT loop evenly and reported its hypercalls
 * and its time.  0, or -1 with the failure recorded in ctx. */
int virt_selftest_check_normal_run(struct selftest_ctx *ctx, const char *what, int r, const struct vcpu_run *run,
				   uint64_t max);
#endif

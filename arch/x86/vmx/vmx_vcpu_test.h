/*
 * What the VMX live-vCPU self-test and benches share (vmx_vcpu_testlib.c):
 * turning VMX on and off on a CPU behind the core's back, a test VM of the
 * built-in guest with its vCPUs, and one pass of the core's vCPU loop
 * through the ops.  Nothing outside arch/x86/vmx/ includes this.
 */
#ifndef VMX_VCPU_TEST_H
#define VMX_VCPU_TEST_H
#include "vmx_internal.h"
#include <vigil/vcpu.h>

#define SLOT_ORDER 6                      /* 256 KiB: the pattern guest for up to 20 vCPUs */
#define SLOT_SIZE (PAGE_SIZE << SLOT_ORDER)
#define EVICT_VCPUS (VMX_MAX_LOADED + 2)

struct live_test {
	struct vm *vm;
	struct vcpu *vcpus[EVICT_VCPUS];
	unsigned nr;
	bool enabled[CONFIG_MAX_CPUS];    /* VMX turned on here by the test */
	char why[WHY_MAX];
};

/* VMX on on cpu (a cross-CPU call), remembered in t->enabled when it was
 * off; 0 or -1 with t->why.  vmx_off: off again where vmx_on turned it on. */
int vmx_on(struct live_test *t, unsigned cpu);
void vmx_off(struct live_test *t, unsigned cpu);
/* A VM with a slot 0 of SLOT_SIZE running kind, and nr vCPUs created
 * through the ops; 0 or -1 with t->why (destroy_vm cleans up either way). */
int make_vm(struct live_test *t, enum guest_kind kind, unsigned nr);
void destroy_vcpus(struct live_test *t);
void destroy_vm(struct live_test *t);
/* One pass of the core's loop (vigil/vcpu.h) without requests, on this
 * CPU, preemption off (the caller's): load, enter with interrupts off,
 * handle with them on.  HLT simply enters again. */
enum vcpu_exit_action step(struct vcpu *vcpu, char *why, size_t len);

#endif

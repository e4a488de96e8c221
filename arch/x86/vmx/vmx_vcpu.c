/*
 * Live vCPUs on VMX (vigil/vcpu.h).  PLACEHOLDER while the backend's live
 * path is written: every live vCPU is refused with a clear error.
 */
#include "vmx_internal.h"
#include <vigil/string.h>
#include <vigil/vcpu.h>

int vmx_vcpu_create(struct vcpu *vcpu, char *why, size_t len)
{
	(void)vcpu;
	snprintf(why, len, "live vCPUs are not available on VMX yet");
	return -1;
}

void vmx_vcpu_destroy(struct vcpu *vcpu)
{
	(void)vcpu;
}

int vmx_vcpu_load(struct vcpu *vcpu, unsigned cpu, char *why, size_t len)
{
	(void)vcpu;
	(void)cpu;
	snprintf(why, len, "live vCPUs are not available on VMX yet");
	return -1;
}

bool vmx_vcpu_enter(struct vcpu *vcpu)
{
	(void)vcpu;
	return false;
}

enum vcpu_exit_action vmx_vcpu_handle_exit(struct vcpu *vcpu)
{
	(void)vcpu;
	return VCPU_EXIT_HOST_FAILED;
}

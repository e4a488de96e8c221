/*
 * Live vCPUs on SVM (vigil/vcpu.h).  PLACEHOLDER while the backend's live
 * path is written: every live vCPU is refused with a clear error.
 */
#include "svm_internal.h"
#include <vigil/string.h>
#include <vigil/vcpu.h>

int svm_vcpu_create(struct vcpu *vcpu, char *why, size_t len)
{
	(void)vcpu;
	snprintf(why, len, "live vCPUs are not available on SVM yet");
	return -1;
}

void svm_vcpu_destroy(struct vcpu *vcpu)
{
	(void)vcpu;
}

int svm_vcpu_load(struct vcpu *vcpu, unsigned cpu, char *why, size_t len)
{
	(void)vcpu;
	(void)cpu;
	snprintf(why, len, "live vCPUs are not available on SVM yet");
	return -1;
}

bool svm_vcpu_enter(struct vcpu *vcpu)
{
	(void)vcpu;
	return false;
}

enum vcpu_exit_action svm_vcpu_handle_exit(struct vcpu *vcpu)
{
	(void)vcpu;
	return VCPU_EXIT_HOST_FAILED;
}

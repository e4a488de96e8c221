/*
 * One VM exit of the built-in guest, decoded (vmx_decode.c), handed to the
 * one exit layer (arch/x86/virt/vexit.c) with the guest registers it reads
 * and writes.  What stays here is what only the host cares about: an NMI
 * exit (already given to the host's NMI handler) and an EPT
 * misconfiguration (our EPT is malformed, 28.2.3.1).  Moving RIP past the
 * instruction is the caller's: the burst path does it at once, a live vCPU
 * before its next entry (interrupts may be on in between and VMX turned
 * off under it).
 */
#include "vmx_internal.h"
#include <vigil/string.h>

/* CPUID 0x40000000's signature for VMX guests (asm/guest_cpuid.h). */
static const char vmx_signature[12] = { 'V', 'i', 'g', 'i', 'l', 'H', 'V', ' ', 'V', 'M', 'X', ' ' };

enum vcpu_exit_action vmx_exit_handle(const struct vm *vm, struct vcpu_run *acct, struct vmx_guest_regs *regs,
				      const struct vmx_exit_decoded *d, bool *skip)
{
	*skip = false;
	if (d->host_nmi) {
		vcpu_run_count_exit(acct, VEXIT_OTHER);
		return VCPU_EXIT_CONTINUE;
	}
	if (d->info.reason == VEXIT_OTHER && (d->info.raw & 0xFFFF) == EXIT_REASON_EPT_MISCONFIG) {
		vcpu_run_count_exit(acct, VEXIT_OTHER);
		snprintf(acct->why, sizeof(acct->why), "%s", d->detail);
		return VCPU_EXIT_HOST_FAILED;
	}
	return vexit_handle(vm, acct, &regs->g, &d->info, vmx_signature, skip);
}

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
#include <asm/guest_fault.h>
#include <vigil/string.h>

/* CPUID 0x40000000's signature for VMX guests (asm/guest_cpuid.h). */
static int ept_map_page(struct vm *vm, uint64_t gpa, uint64_t hpa, bool writable)
{
	return vmx_ept_map_page(vm->arch, gpa, hpa, writable);
}

static const char vmx_signature[12] = { 'V', 'i', 'g', 'i', 'l', 'H', 'V', ' ', 'V', 'M', 'X', ' ' };

/* An EPT violation (28.2.1, qualification in table 28-7) of a VM with
 * memory slots: map the page from its slot, or complete the access as MMIO
 * (arch/x86/virt/guest_fault.c).  The exit's instruction length field is
 * not defined for EPT violations (28.2.5), so the decoded length goes into
 * d->info.insn_len for the skip. */
static enum vcpu_exit_action ept_violation(struct vm *vm, struct vcpu_run *acct, struct vmx_guest_regs *regs,
					   struct vmx_exit_decoded *d, bool *skip)
{
	struct vmx_vm *v = vm->arch;
	struct guest_fault f = {
		.gpa = d->info.gpa,
		.write = d->info.write,
		.fetch = d->info.fetch,
		.insn_gpa = d->cs_base + d->info.rip,
		.rip = d->info.rip,
		.map = ept_map_page,
		.lock = v->ept_lock,
	};
	struct mmio_insn insn;
	enum vcpu_exit_action a = guest_fault_handle(vm, acct, &f, &insn);
	if (a != VCPU_EXIT_CONTINUE || !insn.len)
		return a;
	if (!insn.write) {
		uint64_t *dst[8] = { &regs->g.rax, &regs->g.rcx, &regs->g.rdx, &regs->g.rbx,
				     NULL, &regs->rbp, &regs->rsi, &regs->rdi };
		if (!dst[insn.reg]) {
			/* ESP lives in the VMCS, which may not be current here. */
			snprintf(acct->why, sizeof(acct->why), "MMIO load into ESP at rip 0x%lx is not emulated",
				 (unsigned long)d->info.rip);
			acct->guest_failed = true;
			return VCPU_EXIT_GUEST_FAILED;
		}
		*dst[insn.reg] = MMIO_READ_MARKER;  /* a 32-bit destination clears bits 63:32 */
	}
	d->info.insn_len = insn.len;
	*skip = true;
	return a;
}

enum vcpu_exit_action vmx_exit_handle(struct vm *vm, struct vcpu_run *acct, struct vmx_guest_regs *regs,
				      struct vmx_exit_decoded *d, bool *skip)
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
	if (d->info.reason == VEXIT_MEM_FAULT && vm->memslots)
		return ept_violation(vm, acct, regs, d, skip);
	return vexit_handle(vm, acct, &regs->g, &d->info, vmx_signature, skip);
}

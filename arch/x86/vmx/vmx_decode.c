/*
 * A VM exit of VMX in the exit layer's terms (asm/vexit.h): the basic exit
 * reason and its qualification (Intel SDM vol 3C, 28.2 "Recording VM-exit
 * information and updating VM-entry control fields", appendix C "VMX basic
 * exit reasons"), or the VM entry that failed (31.4 for VMfailValid, 27.8
 * for a failure while loading guest state).  Both the burst path
 * (vmx_run.c) and live vCPUs (vmx_vcpu.c) decode here, right after the exit
 * with the VMCS still current, and hand the result to vexit_handle().
 *
 * Only what the reason needs is read: VMREAD is not free, and the exit
 * round trip is what the benches measure.
 */
#include "vmx_internal.h"
#include <vigil/string.h>

/* EPT-violation qualification (28.2.1, table 28-7). */
#define EPT_QUAL_WRITE (1ULL << 1)
#define EPT_QUAL_FETCH (1ULL << 2)

/* Where to look when VM entry refuses the VMCS. */
static const char *entry_error_hint(unsigned err)
{
	switch (err) {
	case 7:
		return "; check the controls against the capability MSRs (26.2.1)";
	case 8:
		return "; check the host-state area (26.2.2-26.2.4)";
	case 26:
		return "; the guest's interruptibility state blocks by MOV SS (26.1)";
	default:
		return "";
	}
}

static void entry_failed(int r, int launched, struct vmx_exit_decoded *d)
{
	unsigned err = r == VMX_FAIL_VALID ? (unsigned)vmread(VM_INSTRUCTION_ERROR) : 0;
	d->info.reason = VEXIT_ENTRY_FAILED;
	d->info.raw = err;
	snprintf(d->detail, sizeof(d->detail), "%s failed (%s): VM-instruction error %u, %s%s",
		 launched ? "VMRESUME" : "VMLAUNCH", r == VMX_FAIL_VALID ? "VMfailValid" : "VMfailInvalid", err,
		 vmx_insn_error_name(err), entry_error_hint(err));
	d->info.detail = d->detail;
}

void vmx_decode_exit(int r, int launched, struct vmx_exit_decoded *d)
{
	struct vexit_info *e = &d->info;
	e->insn_len = 0;
	e->detail = NULL;
	d->host_nmi = false;
	if (r != VMX_OK) {
		e->rip = 0;
		entry_failed(r, launched, d);
		return;
	}
	uint32_t reason = (uint32_t)vmread(VM_EXIT_REASON);
	e->raw = reason;
	e->rip = vmread(GUEST_RIP);
	if (reason & EXIT_REASON_ENTRY_FAILURE) {
		/* 27.8 "VM-entry failures during or after loading guest
		 * state": the VMCS stays "clear", no guest ran. */
		unsigned basic = reason & 0xFFFF;
		e->reason = VEXIT_ENTRY_FAILED;
		snprintf(d->detail, sizeof(d->detail), "%s (exit reason 0x%x, qualification %lu)%s",
			 basic == EXIT_REASON_INVALID_GUEST ? "invalid guest state"
			 : basic == EXIT_REASON_MSR_LOADING ? "MSR loading"
			 : basic == EXIT_REASON_MCE_DURING_ENTRY ? "machine check" : "unknown cause",
			 reason, (unsigned long)vmread(EXIT_QUALIFICATION),
			 basic == EXIT_REASON_INVALID_GUEST ? "; check the guest-state area (26.3.1)" : "");
		e->detail = d->detail;
		return;
	}
	switch (reason & 0xFFFF) {
	case EXIT_REASON_VMCALL:
		e->reason = VEXIT_HYPERCALL;
		e->insn_len = (unsigned)vmread(VM_EXIT_INSTRUCTION_LEN);
		return;
	case EXIT_REASON_CPUID:
		e->reason = VEXIT_CPUID;
		e->insn_len = (unsigned)vmread(VM_EXIT_INSTRUCTION_LEN);
		return;
	case EXIT_REASON_HLT:
		e->reason = VEXIT_HLT;
		e->insn_len = (unsigned)vmread(VM_EXIT_INSTRUCTION_LEN);
		return;
	case EXIT_REASON_IO: {
		/* 28.2.1 table 28-5. */
		uint64_t q = vmread(EXIT_QUALIFICATION);
		e->reason = VEXIT_IO;
		e->insn_len = (unsigned)vmread(VM_EXIT_INSTRUCTION_LEN);
		e->port = (uint16_t)IO_QUAL_PORT(q);
		e->io_size = (uint8_t)IO_QUAL_SIZE(q);
		e->io_in = q & IO_QUAL_IN;
		e->io_string = q & IO_QUAL_STRING;
		return;
	}
	case EXIT_REASON_EXTERNAL_INTR:
		/* "Acknowledge interrupt on exit" is off (25.7.1): the
		 * interrupt is still pending in the local APIC and the host
		 * takes it as soon as it turns interrupts on. */
		e->reason = VEXIT_INTR;
		return;
	case EXIT_REASON_EXCEPTION_NMI: {
		uint32_t info = (uint32_t)vmread(VM_EXIT_INTR_INFO);
		if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
			/* An NMI for the host (28.2.2): handed to its handler
			 * now.  NMIs stay blocked after such an exit until the
			 * next IRET (28.1), the one the handler ends with. */
			d->host_nmi = true;
			e->reason = VEXIT_OTHER;
			__asm__ volatile("int $2" ::: "memory");
			return;
		}
		e->reason = VEXIT_EXCEPTION;
		e->vector = INTR_INFO_VECTOR(info);
		e->error_code = vmread(VM_EXIT_INTR_ERROR_CODE);
		return;
	}
	case EXIT_REASON_TRIPLE_FAULT:
		e->reason = VEXIT_SHUTDOWN;
		return;
	case EXIT_REASON_EPT_VIOLATION: {
		/* The address is in the guest-physical address field (28.2.1). */
		uint64_t q = vmread(EXIT_QUALIFICATION);
		e->reason = VEXIT_MEM_FAULT;
		e->gpa = vmread(GUEST_PHYSICAL_ADDRESS);
		e->write = q & EPT_QUAL_WRITE;
		e->fetch = q & EPT_QUAL_FETCH;
		d->cs_base = vmread(GUEST_CS_BASE);
		snprintf(d->detail, sizeof(d->detail), "EPT violation, qualification 0x%lx", (unsigned long)q);
		e->detail = d->detail;
		return;
	}
	case EXIT_REASON_EPT_MISCONFIG:
		e->reason = VEXIT_OTHER;
		snprintf(d->detail, sizeof(d->detail), "EPT misconfiguration at guest-physical 0x%lx (28.2.3.1)",
			 (unsigned long)vmread(GUEST_PHYSICAL_ADDRESS));
		e->detail = d->detail;
		return;
	default:
		/* MSR accesses, CR accesses, INVD, XSETBV...: the built-in
		 * guests do none of these. */
		e->reason = VEXIT_OTHER;
		snprintf(d->detail, sizeof(d->detail), "basic reason %u, qualification 0x%lx", reason & 0xFFFF,
			 (unsigned long)vmread(EXIT_QUALIFICATION));
		e->detail = d->detail;
		return;
	}
}

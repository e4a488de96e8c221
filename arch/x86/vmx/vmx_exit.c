/*
 * One VM exit of the built-in guest: account for it and emulate what the
 * guest asked for (Intel SDM vol 3C, 28 "VM exits", appendix C "VMX basic
 * exit reasons").  The run loop around it is vmx_run.c.
 */
#include "vmx_internal.h"
#include <asm/guest_cpuid.h>
#include <asm/cpu.h>
#include <vigil/string.h>

static uint64_t guest_rip(void)
{
	return vmread(GUEST_RIP);
}

/* Past the instruction that exited (28.2.4: the VM-exit instruction
 * length is valid for exits caused by instruction execution). */
static void skip_instruction(void)
{
	vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN));
}

/* CPUID: the answer both backends give (arch/x86/virt/guest_cpuid.c). */
static void emulate_cpuid(struct vmx_guest_regs *regs)
{
	uint32_t leaf = (uint32_t)regs->rax, sub = (uint32_t)regs->rcx;
	struct cpuid_regs r = guest_cpuid(leaf, sub, "VigilHV VMX ");
	regs->rax = r.eax;
	regs->rbx = r.ebx;
	regs->rcx = r.ecx;
	regs->rdx = r.edx;
}

/* One VM exit: account for it, emulate what the guest asked for. */
enum vmx_exit_action vmx_handle_exit(struct vm *vm, struct vcpu_run *run, struct vmx_guest_regs *regs, uint32_t reason)
{
	uint64_t qual = vmread(EXIT_QUALIFICATION);

	switch (reason & 0xFFFF) {
	case EXIT_REASON_EXCEPTION_NMI: {
		uint32_t info = (uint32_t)vmread(VM_EXIT_INTR_INFO);
		if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
			/* An NMI for the host (28.2.2).  NMIs stay blocked
			 * after such an exit until the next IRET (28.1), the
			 * one the NMI handler ends with. */
			vcpu_run_count_exit(run, VEXIT_OTHER);
			__asm__ volatile("int $2" ::: "memory");
			return VMX_EXIT_CONTINUE;
		}
		vcpu_run_count_exit(run, VEXIT_EXCEPTION);
		if (INTR_INFO_VECTOR(info) == VEC_UD_EXCEPTION)
			snprintf(run->why, sizeof(run->why), "guest executed an undefined instruction at rip 0x%lx",
				 (unsigned long)guest_rip());
		else
			snprintf(run->why, sizeof(run->why), "guest raised exception %u at rip 0x%lx",
				 INTR_INFO_VECTOR(info), (unsigned long)guest_rip());
		return VMX_EXIT_STOP_GUEST;
	}
	case EXIT_REASON_EXTERNAL_INTR:
		/* "Acknowledge interrupt on exit" is off (25.7.1), so the
		 * interrupt is still pending in the local APIC: the run loop
		 * takes it in its interrupt window before the next entry. */
		vcpu_run_count_exit(run, VEXIT_INTR);
		return VMX_EXIT_CONTINUE;
	case EXIT_REASON_TRIPLE_FAULT:
		vcpu_run_count_exit(run, VEXIT_SHUTDOWN);
		snprintf(run->why, sizeof(run->why), "guest triple fault (rip 0x%lx)", (unsigned long)guest_rip());
		return VMX_EXIT_STOP_GUEST;
	case EXIT_REASON_CPUID:
		vcpu_run_count_exit(run, VEXIT_CPUID);
		emulate_cpuid(regs);
		skip_instruction();
		return VMX_EXIT_CONTINUE;
	case EXIT_REASON_HLT:
		/* Nothing can wake the guest but us: carry on at once. */
		vcpu_run_count_exit(run, VEXIT_HLT);
		skip_instruction();
		return VMX_EXIT_CONTINUE;
	case EXIT_REASON_VMCALL:
		vcpu_run_count_exit(run, VEXIT_HYPERCALL);
		run->hypercalls++;
		/* The normal and spinning guests pass their loop counter in eax. */
		if ((run->guest == GUEST_NORMAL || run->guest == GUEST_SPIN) && (uint32_t)regs->rax != (uint32_t)run->hypercalls) {
			snprintf(run->why, sizeof(run->why),
				 "guest's hypercall counter is %u, expected %u: guest registers were not preserved",
				 (uint32_t)regs->rax, (uint32_t)run->hypercalls);
			return VMX_EXIT_STOP_GUEST;
		}
		regs->rax = 0;  /* the hypercall's result: success */
		skip_instruction();
		return VMX_EXIT_CONTINUE;
	case EXIT_REASON_IO:
		/* 28.2.1 table 28-5.  OUT is dropped; IN reads all ones, as
		 * from an empty bus. */
		vcpu_run_count_exit(run, VEXIT_IO);
		if (qual & IO_QUAL_STRING) {
			snprintf(run->why, sizeof(run->why), "guest used string I/O on port 0x%x (not emulated)",
				 IO_QUAL_PORT(qual));
			return VMX_EXIT_STOP_GUEST;
		}
		if (qual & IO_QUAL_IN) {
			unsigned size = IO_QUAL_SIZE(qual);
			uint64_t mask = size == 4 ? 0xFFFFFFFFULL : size == 2 ? 0xFFFF : 0xFF;
			regs->rax = size == 4 ? mask : (regs->rax | mask);
		}
		skip_instruction();
		return VMX_EXIT_CONTINUE;
	case EXIT_REASON_EPT_VIOLATION: {
		/* 28.2.1 table 28-7; the address is in the guest-physical
		 * address field (28.2.1). */
		uint64_t gpa = vmread(GUEST_PHYSICAL_ADDRESS);
		vcpu_run_count_exit(run, VEXIT_MEM_FAULT);
		if (vm_gpa_in_slot(vm, gpa)) {
			snprintf(run->why, sizeof(run->why),
				 "EPT violation at mapped guest-physical 0x%lx (qualification 0x%lx): EPT out of date",
				 (unsigned long)gpa, (unsigned long)qual);
			return VMX_EXIT_STOP_HOST;
		}
		snprintf(run->why, sizeof(run->why),
			 "guest touched unmapped guest-physical 0x%lx (EPT violation, qualification 0x%lx)",
			 (unsigned long)gpa, (unsigned long)qual);
		return VMX_EXIT_STOP_GUEST;
	}
	case EXIT_REASON_EPT_MISCONFIG:
		vcpu_run_count_exit(run, VEXIT_OTHER);
		snprintf(run->why, sizeof(run->why), "EPT misconfiguration at guest-physical 0x%lx (28.2.3.1)",
			 (unsigned long)vmread(GUEST_PHYSICAL_ADDRESS));
		return VMX_EXIT_STOP_HOST;
	default:
		/* MSR accesses, CR accesses, INVD, XSETBV...: the built-in
		 * guest does none of these. */
		vcpu_run_count_exit(run, VEXIT_OTHER);
		snprintf(run->why, sizeof(run->why),
			 "unexpected VM exit (basic reason %u, qualification 0x%lx) at rip 0x%lx", reason & 0xFFFF,
			 (unsigned long)qual, (unsigned long)guest_rip());
		return VMX_EXIT_STOP_GUEST;
	}
}

/*
 * vcpu_run: run the built-in guest on this CPU until it has exited
 * run->max_exits times or misbehaves (Intel SDM vol 3C, 26 "VM entries",
 * 27 "VM exits", appendix C "VMX basic exit reasons").
 *
 * Host interrupts stay disabled for the whole run (from before VMPTRLD to
 * after the final VMCLEAR).  That keeps the loaded VMCS, the host state
 * captured in it (GDTR, IDTR, GS base...) and this CPU's VMX state safe
 * from interrupt handlers and cross-CPU calls (disable() arrives that way),
 * and lets "external-interrupt exiting" stay off: an interrupt that arrives
 * while the guest runs stays pending (the guest runs with RFLAGS.IF=0) and
 * is taken by the host when the run ends.  The price is interrupt latency
 * of one run; the built-in guest exits every few instructions, so a run of
 * max_exits exits is short.  NMIs do exit ("NMI exiting"), and are handed
 * to the host's NMI handler at once, so the panic path's emergency disable
 * reaches a CPU that is running a guest.
 *
 * A VM entry that fails (VMLAUNCH/VMRESUME reporting VMfailValid, or a VM
 * exit with bit 31 of the exit reason set) ends the run with last_exit
 * VEXIT_ENTRY_FAILED, guest_failed and the reason in why (the SVM backend
 * reports VMEXIT_INVALID the same way); vcpu_run returns -1 only when the
 * host could not even set the run up, or its EPT turned out wrong.
 */
#include "vmx_internal.h"
#include <asm/cpu.h>
#include <vigil/arch.h>
#include <vigil/inject.h>
#include <vigil/sched.h>
#include <vigil/string.h>

/* Broken VMCSs, to see VM-entry failures reported: one fails the guest-state
 * checks (a VM exit with bit 31 of the exit reason set, 26.3.1.2: TR must
 * be usable), the other the control checks (VMLAUNCH fails with
 * VMfailValid, error 7, 26.2.1.1: at most 4 CR3-target values). */
INJECT_POINT(vmx_bad_guest_state, "vmx_bad_guest_state",
	     "the next VM entry on this CPU finds an invalid guest state (TR unusable)");
INJECT_POINT(vmx_bad_control, "vmx_bad_control",
	     "the next VMLAUNCH on this CPU fails on an invalid control field (CR3-target count 5)");

_Static_assert(offsetof(struct vmx_guest_regs, rax) == 0, "vmx_entry.asm R_RAX");
_Static_assert(offsetof(struct vmx_guest_regs, rcx) == 8, "vmx_entry.asm R_RCX");
_Static_assert(offsetof(struct vmx_guest_regs, rdx) == 16, "vmx_entry.asm R_RDX");
_Static_assert(offsetof(struct vmx_guest_regs, rbx) == 24, "vmx_entry.asm R_RBX");
_Static_assert(offsetof(struct vmx_guest_regs, rbp) == 32, "vmx_entry.asm R_RBP");
_Static_assert(offsetof(struct vmx_guest_regs, rsi) == 40, "vmx_entry.asm R_RSI");
_Static_assert(offsetof(struct vmx_guest_regs, rdi) == 48, "vmx_entry.asm R_RDI");
_Static_assert(offsetof(struct vmx_guest_regs, r8) == 56, "vmx_entry.asm R_R8");
_Static_assert(offsetof(struct vmx_guest_regs, r15) == 112, "vmx_entry.asm R_R15");

/* 30.4 "VM instruction error numbers". */
const char *vmx_insn_error_name(unsigned err)
{
	static const char *const names[] = {
		[0] = "no error recorded",
		[1] = "VMCALL executed in VMX root operation",
		[2] = "VMCLEAR with invalid physical address",
		[3] = "VMCLEAR with VMXON pointer",
		[4] = "VMLAUNCH with non-clear VMCS",
		[5] = "VMRESUME with non-launched VMCS",
		[6] = "VMRESUME after VMXOFF",
		[7] = "VM entry with invalid control field(s)",
		[8] = "VM entry with invalid host-state field(s)",
		[9] = "VMPTRLD with invalid physical address",
		[10] = "VMPTRLD with VMXON pointer",
		[11] = "VMPTRLD with incorrect VMCS revision identifier",
		[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
		[13] = "VMWRITE to read-only VMCS component",
		[15] = "VMXON executed in VMX root operation",
		[16] = "VM entry with invalid executive-VMCS pointer",
		[17] = "VM entry with non-launched executive VMCS",
		[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
		[19] = "VMCALL with non-clear VMCS",
		[20] = "VMCALL with invalid VM-exit control fields",
		[22] = "VMCALL with incorrect MSEG revision identifier",
		[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
		[24] = "VMCALL with invalid SMM-monitor features",
		[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
		[26] = "VM entry with events blocked by MOV SS",
		[28] = "invalid operand to INVEPT/INVVPID",
	};
	if (err < ARRAY_SIZE(names) && names[err])
		return names[err];
	return "unknown error";
}

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

static void count_exit(struct vcpu_run *run, enum vexit e)
{
	run->exits++;
	run->exit_count[e]++;
	run->last_exit = e;
}

static uint64_t guest_rip(void)
{
	return vmread(GUEST_RIP);
}

/* Past the instruction that exited (27.2.4: the VM-exit instruction
 * length is valid for exits caused by instruction execution). */
static void skip_instruction(void)
{
	vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN));
}

/* CPUID is answered with the host's values, minus VMX (this guest gets no
 * nested virtualization) and plus "running under a hypervisor". */
static void emulate_cpuid(struct vmx_guest_regs *regs)
{
	uint32_t leaf = (uint32_t)regs->rax, sub = (uint32_t)regs->rcx;
	struct cpuid_regs r = cpuid_count(leaf, sub);
	if (leaf == 1) {
		r.ecx &= ~CPUID_1_ECX_VMX;
		r.ecx |= CPUID_1_ECX_HYPERVISOR;
	}
	regs->rax = r.eax;
	regs->rbx = r.ebx;
	regs->rcx = r.ecx;
	regs->rdx = r.edx;
}

static bool gpa_in_slot(const struct vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++) {
		const struct vm_slot *s = &vm->slots[i];
		if (s->used && gpa >= s->gpa && gpa - s->gpa < s->size)
			return true;
	}
	return false;
}

enum step { STEP_CONTINUE, STEP_GUEST_FAILED, STEP_HOST_FAILED };

/* One VM exit: account for it, emulate what the guest asked for. */
static enum step handle_exit(struct vm *vm, struct vcpu_run *run, struct vmx_guest_regs *regs, uint32_t reason)
{
	uint64_t qual = vmread(EXIT_QUALIFICATION);

	switch (reason & 0xFFFF) {
	case EXIT_REASON_EXCEPTION_NMI: {
		uint32_t info = (uint32_t)vmread(VM_EXIT_INTR_INFO);
		if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
			/* An NMI for the host (27.2.2).  NMIs stay blocked
			 * after such an exit until the next IRET (27.1), the
			 * one the NMI handler ends with. */
			count_exit(run, VEXIT_OTHER);
			__asm__ volatile("int $2" ::: "memory");
			return STEP_CONTINUE;
		}
		count_exit(run, VEXIT_EXCEPTION);
		if (INTR_INFO_VECTOR(info) == VEC_UD_EXCEPTION)
			snprintf(run->why, sizeof(run->why), "guest executed an undefined instruction at rip 0x%lx",
				 (unsigned long)guest_rip());
		else
			snprintf(run->why, sizeof(run->why), "guest raised exception %u at rip 0x%lx",
				 INTR_INFO_VECTOR(info), (unsigned long)guest_rip());
		return STEP_GUEST_FAILED;
	}
	case EXIT_REASON_TRIPLE_FAULT:
		count_exit(run, VEXIT_SHUTDOWN);
		snprintf(run->why, sizeof(run->why), "guest triple fault (rip 0x%lx)", (unsigned long)guest_rip());
		return STEP_GUEST_FAILED;
	case EXIT_REASON_CPUID:
		count_exit(run, VEXIT_CPUID);
		emulate_cpuid(regs);
		skip_instruction();
		return STEP_CONTINUE;
	case EXIT_REASON_HLT:
		/* Nothing can wake the guest but us: carry on at once. */
		count_exit(run, VEXIT_HLT);
		skip_instruction();
		return STEP_CONTINUE;
	case EXIT_REASON_VMCALL:
		count_exit(run, VEXIT_HYPERCALL);
		run->hypercalls++;
		/* The normal guest passes its loop counter in eax. */
		if (run->guest == GUEST_NORMAL && (uint32_t)regs->rax != (uint32_t)run->hypercalls) {
			snprintf(run->why, sizeof(run->why),
				 "guest's hypercall counter is %u, expected %u: guest registers were not preserved",
				 (uint32_t)regs->rax, (uint32_t)run->hypercalls);
			return STEP_GUEST_FAILED;
		}
		regs->rax = 0;  /* the hypercall's result: success */
		skip_instruction();
		return STEP_CONTINUE;
	case EXIT_REASON_IO:
		/* 27.2.1 table 27-5.  OUT is dropped; IN reads all ones, as
		 * from an empty bus. */
		count_exit(run, VEXIT_IO);
		if (qual & IO_QUAL_STRING) {
			snprintf(run->why, sizeof(run->why), "guest used string I/O on port 0x%x (not emulated)",
				 IO_QUAL_PORT(qual));
			return STEP_GUEST_FAILED;
		}
		if (qual & IO_QUAL_IN) {
			unsigned size = IO_QUAL_SIZE(qual);
			uint64_t mask = size == 4 ? 0xFFFFFFFFULL : size == 2 ? 0xFFFF : 0xFF;
			regs->rax = size == 4 ? mask : (regs->rax | mask);
		}
		skip_instruction();
		return STEP_CONTINUE;
	case EXIT_REASON_EPT_VIOLATION: {
		/* 27.2.1 table 27-7; the address is in the guest-physical
		 * address field (27.2.1). */
		uint64_t gpa = vmread(GUEST_PHYSICAL_ADDRESS);
		count_exit(run, VEXIT_MEM_FAULT);
		if (gpa_in_slot(vm, gpa)) {
			snprintf(run->why, sizeof(run->why),
				 "EPT violation at mapped guest-physical 0x%lx (qualification 0x%lx): EPT out of date",
				 (unsigned long)gpa, (unsigned long)qual);
			return STEP_HOST_FAILED;
		}
		snprintf(run->why, sizeof(run->why),
			 "guest touched unmapped guest-physical 0x%lx (EPT violation, qualification 0x%lx)",
			 (unsigned long)gpa, (unsigned long)qual);
		return STEP_GUEST_FAILED;
	}
	case EXIT_REASON_EPT_MISCONFIG:
		count_exit(run, VEXIT_OTHER);
		snprintf(run->why, sizeof(run->why), "EPT misconfiguration at guest-physical 0x%lx (28.2.3.1)",
			 (unsigned long)vmread(GUEST_PHYSICAL_ADDRESS));
		return STEP_HOST_FAILED;
	default:
		/* MSR accesses, CR accesses, INVD, XSETBV...: the built-in
		 * guest does none of these. */
		count_exit(run, VEXIT_OTHER);
		snprintf(run->why, sizeof(run->why),
			 "unexpected VM exit (basic reason %u, qualification 0x%lx) at rip 0x%lx", reason & 0xFFFF,
			 (unsigned long)qual, (unsigned long)guest_rip());
		return STEP_GUEST_FAILED;
	}
}

static int run_loop(struct vm *vm, struct vcpu_run *run, struct vmx_guest_regs *regs)
{
	int launched = 0;
	int rc = 0;
	uint64_t t0 = arch_time_ns();
	for (;;) {
		int r = vmx_enter(regs, launched);
		if (r != VMX_OK) {
			unsigned err = r == VMX_FAIL_VALID ? (unsigned)vmread(VM_INSTRUCTION_ERROR) : 0;
			count_exit(run, VEXIT_ENTRY_FAILED);
			snprintf(run->why, sizeof(run->why), "%s failed (%s): VM-instruction error %u, %s%s",
				 launched ? "VMRESUME" : "VMLAUNCH", r == VMX_FAIL_VALID ? "VMfailValid" : "VMfailInvalid",
				 err, vmx_insn_error_name(err), entry_error_hint(err));
			run->guest_failed = true;
			break;
		}
		uint32_t reason = (uint32_t)vmread(VM_EXIT_REASON);
		if (reason & EXIT_REASON_ENTRY_FAILURE) {
			/* 26.7 "VM-entry failures during or after loading
			 * guest state": the VMCS stays "clear", no guest ran. */
			uint64_t qual = vmread(EXIT_QUALIFICATION);
			unsigned basic = reason & 0xFFFF;
			count_exit(run, VEXIT_ENTRY_FAILED);
			snprintf(run->why, sizeof(run->why), "VM entry failed: %s (exit reason 0x%x, qualification %lu)%s",
				 basic == EXIT_REASON_INVALID_GUEST ? "invalid guest state"
				 : basic == EXIT_REASON_MSR_LOADING ? "MSR loading"
				 : basic == EXIT_REASON_MCE_DURING_ENTRY ? "machine check" : "unknown cause",
				 reason, (unsigned long)qual,
				 basic == EXIT_REASON_INVALID_GUEST ? "; check the guest-state area (26.3.1)" : "");
			run->guest_failed = true;
			break;
		}
		launched = 1;
		enum step s = handle_exit(vm, run, regs, reason);
		if (s == STEP_GUEST_FAILED) {
			run->guest_failed = true;
			break;
		}
		if (s == STEP_HOST_FAILED) {
			rc = -1;
			break;
		}
		if (run->exits >= run->max_exits)
			break;
		if (run->stop && run->exits % VCPU_STOP_POLL_EXITS == 0 && run->stop()) {
			run->interrupted = true;
			break;
		}
	}
	run->guest_ns = arch_time_ns() - t0;
	return rc;
}

int vmx_vcpu_run(struct vm *vm, struct vcpu_run *run)
{
	run->exits = 0;
	memset(run->exit_count, 0, sizeof(run->exit_count));
	run->last_exit = VEXIT_NONE;
	run->hypercalls = 0;
	run->guest_ns = 0;
	run->guest_failed = false;
	run->why[0] = 0;

	struct vmx_vm *v = vm->arch;
	if (!v) {
		snprintf(run->why, sizeof(run->why), "VM has no EPT (vm_init not run)");
		return -1;
	}
	if (!run->max_exits)
		return 0;  /* nothing to run */

	unsigned long flags = arch_irq_save();
	if (!vmx_this_cpu_on()) {
		arch_irq_restore(flags);
		snprintf(run->why, sizeof(run->why), "VMX is not enabled on CPU %u", smp_processor_id());
		return -1;
	}
	/* A VM exit sets the GDTR and IDTR limits to 0xFFFF (27.5.2); put
	 * the real ones back afterwards.  TR's limit becomes 0x67, which is
	 * what the kernel's TSS has anyway. */
	struct desc_ptr gdtr, idtr;
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("sidt %0" : "=m"(idtr));

	int rc = -1;
	uint64_t vmcs = vmx_vmcs_load_new(run->why, sizeof(run->why));
	if (vmcs) {
		struct vmcs_writer w = { 0 };
		struct vmx_guest_regs regs = { 0 };
		vmx_vmcs_setup_host_and_controls(&w, v->eptp);
		rc = vmx_guest_load(vm, run->guest, &w, run->why, sizeof(run->why));
		unsigned cpu = smp_processor_id();
		if (rc == 0 && inject_hit(&inject_vmx_bad_guest_state, cpu))
			vmcs_w(&w, GUEST_TR_AR_BYTES, 0x10000);
		if (rc == 0 && inject_hit(&inject_vmx_bad_control, cpu))
			vmcs_w(&w, CR3_TARGET_COUNT, 5);
		if (rc == 0 && w.failed) {
			snprintf(run->why, sizeof(run->why), "VMWRITE of VMCS field 0x%lx failed (VM-instruction error %u, %s)",
				 (unsigned long)w.field, w.error, vmx_insn_error_name(w.error));
			rc = -1;
		}
		if (rc == 0) {
			vmx_ept_flush_local(v);
			rc = run_loop(vm, run, &regs);
		}
		vmx_vmcs_release(vmcs);
	}
	__asm__ volatile("lgdt %0" :: "m"(gdtr));
	__asm__ volatile("lidt %0" :: "m"(idtr));
	arch_irq_restore(flags);
	return rc;
}

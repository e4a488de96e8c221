/*
 * Handling one #VMEXIT of the built-in guest (AMD APM vol 2, 15.6 "#VMEXIT",
 * exit codes in appendix C).
 *
 * Skipping an intercepted instruction: with NRIPS (CPUID 0x8000000A EDX[3])
 * the processor stores the next RIP in the VMCB (15.7.1).  Without it
 * (QEMU's TCG, older processors) we read the instruction at CS.base + RIP
 * from guest memory and accept only the encodings we expect, with any
 * legacy prefixes.  IOIO exits always carry the next RIP in EXITINFO2
 * (15.10.2).
 */
#include "svm_internal.h"
#include <asm/guest_cpuid.h>
#include <asm/cpu.h>
#include <vigil/printk.h>
#include <vigil/string.h>

#define X86_MAX_INSN_LEN 15

static const char *const exception_mnemonic[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#9", "#TS", "#NP", "#SS", "#GP",
	"#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27",
	"#HV", "#VC", "#SX", "#31",
};

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2E: case 0x36: case 0x3E: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xF0: case 0xF2: case 0xF3:
		return true;
	}
	return false;
}

/* nRIP (15.7.1) is written only by processors with NRIPS, and only for
 * instruction intercepts; other exits leave it 0.  KVM's nested SVM has it,
 * QEMU's TCG does not.  Trusted only when it lies 1..15 bytes past RIP. */
unsigned svm_nrip_length(uint32_t features, uint64_t rip, uint64_t next_rip)
{
	if (!(features & SVM_FEAT_NRIPS) || next_rip <= rip || next_rip - rip > X86_MAX_INSN_LEN)
		return 0;
	return (unsigned)(next_rip - rip);
}

/* Length of the intercepted instruction at the guest's RIP, or 0 when it
 * is not what the exit code says it should be. */
static unsigned insn_length(const struct vm *vm, const struct vmcb *v)
{
	uint64_t rip = v->save.rip;
	unsigned n = svm_nrip_length(svm_caps.features, rip, v->control.next_rip);
	if (n)
		return n;

	uint8_t b[X86_MAX_INSN_LEN];
	uint64_t at = v->save.cs.base + rip;
	size_t have = 0;
	while (have < sizeof(b) && svm_guest_read(vm, at + have, &b[have], 1))
		have++;
	unsigned p = 0;
	while (p < have && is_legacy_prefix(b[p]))
		p++;
	if (p >= have)
		return 0;
	const uint8_t *op = &b[p];
	size_t left = have - p;
	switch (v->control.exit_code) {
	case SVM_EXIT_CPUID:
		return left >= 2 && op[0] == 0x0F && op[1] == 0xA2 ? p + 2 : 0;
	case SVM_EXIT_VMMCALL:
		return left >= 3 && op[0] == 0x0F && op[1] == 0x01 && op[2] == 0xD9 ? p + 3 : 0;
	case SVM_EXIT_HLT:
		return op[0] == 0xF4 ? p + 1 : 0;
	case SVM_EXIT_IOIO:
		if (op[0] >= 0xE4 && op[0] <= 0xE7)          /* IN/OUT imm8 */
			return left >= 2 ? p + 2 : 0;
		if ((op[0] >= 0xEC && op[0] <= 0xEF) ||       /* IN/OUT DX */
		    (op[0] >= 0x6C && op[0] <= 0x6F))         /* INS/OUTS */
			return p + 1;
		return 0;
	}
	return 0;
}

/* Move the guest past the intercepted instruction, or say why not. */
static enum svm_exit_action skip_insn(struct vmcb *v, struct vcpu_run *run, unsigned len)
{
	if (!len) {
		run->guest_failed = true;
		snprintf(run->why, sizeof(run->why), "cannot decode the instruction at rip 0x%lx (exit 0x%lx)",
			 (unsigned long)v->save.rip, (unsigned long)v->control.exit_code);
		return SVM_EXIT_STOP_GUEST;
	}
	v->save.rip += len;
	return SVM_EXIT_CONTINUE;
}

/* CPUID: the answer both backends give (arch/x86/virt/guest_cpuid.c). */
static void emulate_cpuid(struct vmcb *v, struct svm_guest_regs *r)
{
	uint32_t leaf = (uint32_t)v->save.rax, sub = (uint32_t)r->rcx;
	struct cpuid_regs c = guest_cpuid(leaf, sub, SVM_CPUID_SIGNATURE);
	v->save.rax = c.eax;
	r->rbx = c.ebx;
	r->rcx = c.ecx;
	r->rdx = c.edx;
}

static enum svm_exit_action handle_ioio(struct vm *vm, struct vmcb *v, struct vcpu_run *run)
{
	uint32_t info = (uint32_t)v->control.exit_info1;
	if (info & SVM_IOIO_STR) {
		run->guest_failed = true;
		snprintf(run->why, sizeof(run->why), "guest string I/O on port 0x%x at rip 0x%lx is not emulated",
			 info >> SVM_IOIO_PORT_SHIFT, (unsigned long)v->save.rip);
		return SVM_EXIT_STOP_GUEST;
	}
	if (info & SVM_IOIO_TYPE_IN) {
		/* Nothing is there: a read of an empty ISA bus gives all ones. */
		uint64_t mask = (info & SVM_IOIO_SZ32) ? 0xFFFFFFFFULL : (info & SVM_IOIO_SZ16) ? 0xFFFF : 0xFF;
		v->save.rax = (info & SVM_IOIO_SZ32) ? mask : (v->save.rax & ~mask) | mask;
	}
	uint64_t next = v->control.exit_info2, rip = v->save.rip;
	if (next > rip && next - rip <= X86_MAX_INSN_LEN) {
		v->save.rip = next;
		return SVM_EXIT_CONTINUE;
	}
	return skip_insn(v, run, insn_length(vm, v));
}

static enum vexit classify(uint64_t code)
{
	switch (code) {
	case SVM_EXIT_VMMCALL:  return VEXIT_HYPERCALL;
	case SVM_EXIT_CPUID:    return VEXIT_CPUID;
	case SVM_EXIT_HLT:      return VEXIT_HLT;
	case SVM_EXIT_IOIO:     return VEXIT_IO;
	case SVM_EXIT_NPF:      return VEXIT_MEM_FAULT;
	case SVM_EXIT_SHUTDOWN: return VEXIT_SHUTDOWN;
	case SVM_EXIT_INVALID:  return VEXIT_ENTRY_FAILED;
	case SVM_EXIT_INTR:     return VEXIT_INTR;
	}
	if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32)
		return VEXIT_EXCEPTION;
	return VEXIT_OTHER;
}

static enum svm_exit_action guest_failed(struct vcpu_run *run)
{
	run->guest_failed = true;
	return SVM_EXIT_STOP_GUEST;
}

enum svm_exit_action svm_handle_exit(struct vm *vm, struct vmcb *v, struct svm_guest_regs *regs,
				     struct vcpu_run *run, const char *entry_check)
{
	uint64_t code = v->control.exit_code;
	/* VMEXIT_INVALID is -1 in 64 bits (appendix C); QEMU's TCG stores it
	 * as a 32-bit -1.  No real exit code comes near either. */
	if ((uint32_t)code == (uint32_t)SVM_EXIT_INVALID)
		code = SVM_EXIT_INVALID;
	unsigned long rip = (unsigned long)v->save.rip;
	enum vexit kind = classify(code);
	vcpu_run_count_exit(run, kind);

	/* An event the guest was receiving when the exit came (15.7.2): give
	 * it again on the next entry so it is not lost. */
	v->control.event_inj = (v->control.exit_int_info & SVM_EVTINJ_VALID) ? v->control.exit_int_info : 0;

	switch (code) {
	case SVM_EXIT_CPUID:
		emulate_cpuid(v, regs);
		return skip_insn(v, run, insn_length(vm, v));
	case SVM_EXIT_VMMCALL:
		run->hypercalls++;
		if ((uint32_t)v->save.rax != (uint32_t)run->hypercalls) {
			snprintf(run->why, sizeof(run->why),
				 "hypercall %lu: the guest counts %lu (guest registers not preserved?)",
				 (unsigned long)run->hypercalls, (unsigned long)(uint32_t)v->save.rax);
			return guest_failed(run);
		}
		v->save.rax = 0;
		return skip_insn(v, run, insn_length(vm, v));
	case SVM_EXIT_HLT:
		return skip_insn(v, run, insn_length(vm, v));
	case SVM_EXIT_IOIO:
		return handle_ioio(vm, v, run);
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		/* The host's own events: pending until STGI, handled there. */
		return SVM_EXIT_CONTINUE;
	case SVM_EXIT_NPF: {
		uint64_t gpa = v->control.exit_info2, err = v->control.exit_info1;
		if (vm_gpa_in_slot(vm, gpa)) {
			snprintf(run->why, sizeof(run->why),
				 "nested page fault at guest-physical 0x%lx inside a slot (error code 0x%lx): "
				 "nested page tables out of step", (unsigned long)gpa, (unsigned long)err);
			return SVM_EXIT_STOP_HOST;
		}
		snprintf(run->why, sizeof(run->why),
			 "guest touched unmapped guest-physical 0x%lx (nested page fault, error code 0x%lx)",
			 (unsigned long)gpa, (unsigned long)err);
		return guest_failed(run);
	}
	case SVM_EXIT_SHUTDOWN:
		snprintf(run->why, sizeof(run->why), "guest triple fault (rip 0x%lx)", rip);
		return guest_failed(run);
	case SVM_EXIT_INVALID: {
		const char *r = *entry_check ? entry_check : svm_vmcb_invalid_reason(v);
		printk("svm: VMRUN refused the VMCB (VMEXIT_INVALID): %s\n",
		       *r ? r : "no consistency check of APM 15.5.1 recognised");
		svm_vmcb_dump(v);
		snprintf(run->why, sizeof(run->why), "VM entry failed (VMEXIT_INVALID): %s",
			 *r ? r : "invalid guest state, see the VMCB dump in the log");
		return guest_failed(run);
	}
	}
	if (kind == VEXIT_EXCEPTION) {
		unsigned vec = (unsigned)(code - SVM_EXIT_EXCP_BASE);
		if (vec == 6)
			snprintf(run->why, sizeof(run->why), "guest executed an undefined instruction at rip 0x%lx", rip);
		else
			snprintf(run->why, sizeof(run->why), "guest raised %s (vector %u, error code 0x%lx) at rip 0x%lx",
				 exception_mnemonic[vec], vec, (unsigned long)v->control.exit_info1, rip);
		return guest_failed(run);
	}
	snprintf(run->why, sizeof(run->why), "unexpected #VMEXIT 0x%lx (info1 0x%lx) at rip 0x%lx",
		 (unsigned long)code, (unsigned long)v->control.exit_info1, rip);
	return guest_failed(run);
}

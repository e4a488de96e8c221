/*
 * One #VMEXIT of the built-in guest (AMD APM vol 2, 15.6 "#VMEXIT", exit
 * codes in appendix C), for both the burst path (svm_run.c, `vm run`) and
 * live vCPUs (svm_vcpu.c): the exit is decoded into a struct vexit_info and
 * handed to the one exit layer (arch/x86/virt/vexit.c), which decides for
 * both technologies; this file only applies its answer to the VMCB.
 *
 * Skipping an intercepted instruction: with NRIPS (CPUID 0x8000000A EDX[3])
 * the processor stores the next RIP in the VMCB (15.7.1), and nothing is
 * read from guest memory.  IOIO exits always carry the next RIP in
 * EXITINFO2 (15.10.2).  Without NRIPS (QEMU's TCG, older processors) we read
 * the instruction at CS.base + RIP from guest memory -- only when the exit
 * layer asks for the skip -- and accept only the encodings we expect, with
 * any legacy prefixes.
 */
#include "svm_internal.h"
#include <asm/vexit.h>
#include <vigil/memslot.h>
#include <vigil/printk.h>
#include <vigil/string.h>

#define X86_MAX_INSN_LEN 15

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

/* Without NRIPS: the length of the intercepted instruction read from guest
 * memory at CS.base + RIP, or 0 when it is not what the exit code says. */
static unsigned decode_length(struct vm *vm, const struct vmcb *v)
{
	uint8_t b[X86_MAX_INSN_LEN];
	uint64_t at = v->save.cs.base + v->save.rip;
	/* Three bytes hold every instruction we skip when it has no prefix
	 * (the usual case); the whole 15 only with prefixes. */
	size_t have = 3;
	if (!vm_guest_read(vm, at, b, have) || is_legacy_prefix(b[0]))
		for (have = sizeof(b); have && !vm_guest_read(vm, at, b, have); have--)
			;               /* the instruction ends a slot */
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

void svm_exit_decode(const struct vmcb *v, const char *entry_check, struct vexit_info *e, char *detail,
		     size_t len)
{
	uint64_t code = v->control.exit_code;
	/* VMEXIT_INVALID is -1 in 64 bits (appendix C); QEMU's TCG stores it
	 * as a 32-bit -1.  No real exit code comes near either. */
	if ((uint32_t)code == (uint32_t)SVM_EXIT_INVALID)
		code = SVM_EXIT_INVALID;
	*e = (struct vexit_info){ .reason = classify(code), .raw = code, .rip = v->save.rip };
	switch (e->reason) {
	case VEXIT_CPUID:
	case VEXIT_HYPERCALL:
	case VEXIT_HLT:
		e->insn_len = svm_nrip_length(svm_caps.features, e->rip, v->control.next_rip);
		break;
	case VEXIT_IO: {
		uint32_t info = (uint32_t)v->control.exit_info1;
		e->port = (uint16_t)(info >> SVM_IOIO_PORT_SHIFT);
		e->io_size = (info & SVM_IOIO_SZ32) ? 4 : (info & SVM_IOIO_SZ16) ? 2 : 1;
		e->io_in = info & SVM_IOIO_TYPE_IN;
		e->io_string = info & SVM_IOIO_STR;
		uint64_t next = v->control.exit_info2;
		if (next > e->rip && next - e->rip <= X86_MAX_INSN_LEN)
			e->insn_len = (unsigned)(next - e->rip);
		break;
	}
	case VEXIT_MEM_FAULT:
		/* EXITINFO1: a page-fault error code (bit 1 write, bit 4
		 * fetch); EXITINFO2: the guest-physical address (15.25.6). */
		e->gpa = v->control.exit_info2;
		e->write = v->control.exit_info1 & (1u << 1);
		e->fetch = v->control.exit_info1 & (1u << 4);
		snprintf(detail, len, "error code 0x%lx", (unsigned long)v->control.exit_info1);
		e->detail = detail;
		break;
	case VEXIT_EXCEPTION:
		e->vector = (unsigned)(code - SVM_EXIT_EXCP_BASE);
		e->error_code = v->control.exit_info1;
		break;
	case VEXIT_ENTRY_FAILED: {
		const char *r = *entry_check ? entry_check : svm_vmcb_invalid_reason(v);
		snprintf(detail, len, "VMEXIT_INVALID: %s",
			 *r ? r : "invalid guest state, see the VMCB dump in the log");
		e->detail = detail;
		break;
	}
	default:
		snprintf(detail, len, "#VMEXIT 0x%lx, info1 0x%lx", (unsigned long)code,
			 (unsigned long)v->control.exit_info1);
		e->detail = detail;
		break;
	}
}

enum vcpu_exit_action svm_exit_handle(struct vm *vm, struct vmcb *v, struct svm_guest_regs *regs,
				      struct vcpu_run *run, const char *entry_check)
{
	/* An event the guest was receiving when the exit came (15.7.2): give
	 * it again on the next entry so it is not lost. */
	v->control.event_inj = (v->control.exit_int_info & SVM_EVTINJ_VALID) ? v->control.exit_int_info : 0;

	switch (v->control.exit_code) {
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		/* The host's own events, pending until STGI and handled
		 * there: they never reach the exit layer. */
		vcpu_run_count_exit(run, VEXIT_OTHER);
		return VCPU_EXIT_CONTINUE;
	case SVM_EXIT_NPF:
		/* Guest memory on demand from the slots, or MMIO.  A VM
		 * without slots (the backend self-tests build their own,
		 * mapped up front) goes to the exit layer: its faults are
		 * errors. */
		if (vm->memslots)
			return svm_npf_handle(vm, v, regs, run);
		break;
	}

	struct vexit_info e;
	char detail[96];
	svm_exit_decode(v, entry_check, &e, detail, sizeof(detail));
	if (e.reason == VEXIT_ENTRY_FAILED) {
		printk("svm: VMRUN refused the VMCB (VMEXIT_INVALID): %s\n", detail + sizeof("VMEXIT_INVALID: ") - 1);
		svm_vmcb_dump(v);
	}
	struct guest_gprs g = { .rax = v->save.rax, .rbx = regs->rbx, .rcx = regs->rcx, .rdx = regs->rdx };
	bool skip;
	enum vcpu_exit_action a = vexit_handle(vm, run, &g, &e, SVM_CPUID_SIGNATURE, &skip);
	v->save.rax = g.rax;
	regs->rbx = g.rbx;
	regs->rcx = g.rcx;
	regs->rdx = g.rdx;
	if (!skip || (a != VCPU_EXIT_CONTINUE && a != VCPU_EXIT_HALT))
		return a;
	unsigned n = e.insn_len ? e.insn_len : decode_length(vm, v);
	if (!n) {
		run->guest_failed = true;
		snprintf(run->why, sizeof(run->why), "cannot decode the instruction at rip 0x%lx (exit 0x%lx)",
			 (unsigned long)e.rip, (unsigned long)e.raw);
		return VCPU_EXIT_GUEST_FAILED;
	}
	v->save.rip += n;
	return a;
}

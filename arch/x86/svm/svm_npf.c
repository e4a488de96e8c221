/*
 * Nested page faults on SVM (AMD APM vol 2, 15.25.6 "Nested versus guest
 * page faults, fault ordering"): #VMEXIT(NPF) gives the guest-physical
 * address in EXITINFO2 and a page-fault error code in EXITINFO1 (bit 1: a
 * write, bit 4: an instruction fetch).  The decision -- map the page from
 * its memory slot or complete the access as MMIO -- is the shared one
 * (arch/x86/virt/guest_fault.c); this applies it to the VMCB.
 */
#include "svm_internal.h"
#include <asm/guest_fault.h>

#define NPF_WRITE   (1u << 1)
#define NPF_FETCH   (1u << 4)

static int map_page(struct vm *vm, uint64_t gpa, uint64_t hpa, bool writable)
{
	struct svm_vm *sv = vm->arch;
	return svm_npt_map_page(&sv->npt, gpa, hpa, writable);
}

/* The guest's register number r (ModRM.reg order) as a 32-bit destination:
 * writing a 32-bit register clears bits 63:32 (Intel SDM vol 1, 3.4.1.1). */
static void set_reg32(struct vmcb *v, struct svm_guest_regs *regs, unsigned r, uint32_t val)
{
	switch (r & 7) {
	case 0: v->save.rax = val; break;
	case 1: regs->rcx = val; break;
	case 2: regs->rdx = val; break;
	case 3: regs->rbx = val; break;
	case 4: v->save.rsp = val; break;
	case 5: regs->rbp = val; break;
	case 6: regs->rsi = val; break;
	case 7: regs->rdi = val; break;
	}
}

enum vcpu_exit_action svm_npf_handle(struct vm *vm, struct vmcb *v, struct svm_guest_regs *regs,
				     struct vcpu_run *run)
{
	struct svm_vm *sv = vm->arch;
	uint32_t err = (uint32_t)v->control.exit_info1;
	struct guest_fault f = {
		.gpa = v->control.exit_info2,
		.write = err & NPF_WRITE,
		.fetch = err & NPF_FETCH,
		.insn_gpa = v->save.cs.base + v->save.rip,
		.rip = v->save.rip,
		.map = map_page,
		.lock = sv->npt_lock,
	};
	struct mmio_insn insn;
	enum vcpu_exit_action a = guest_fault_handle(vm, run, &f, &insn);
	if (a == VCPU_EXIT_CONTINUE && insn.len) {
		if (!insn.write)
			set_reg32(v, regs, insn.reg, MMIO_READ_MARKER);
		v->save.rip += insn.len;
	}
	return a;
}

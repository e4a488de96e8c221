/*
 * Nested page faults (AMD APM vol 2, 15.25.6 "Nested versus guest page
 * faults, fault ordering"): guest memory comes from the VM's memory slots,
 * one 4 KiB page at a time, when the guest first touches it.
 *
 * #VMEXIT(NPF) gives the guest-physical address in EXITINFO2 and a
 * page-fault error code in EXITINFO1 (bit 0: the page was present, bit 1:
 * a write, bit 4: an instruction fetch).  Inside a read section of the VM's
 * SRCU domain (so no update frees a frame under us):
 *   - a slot holds the gfn and the access is allowed: map the page,
 *     writable only when the slot is rw, and re-enter with RIP unchanged,
 *     so the guest repeats the access;
 *   - no slot, or a write to a read-only slot: an MMIO exit, counted on the
 *     vCPU (run->mmio_exits) and on the VM.  The instruction at RIP is
 *     completed here -- a load gets MMIO_READ_MARKER, a store is dropped --
 *     and RIP moves past it (asm/mmio_insn.h: only plain 32-bit MOVs; any
 *     other instruction, or a fetch, stops the guest with a named error).
 * The lookup and the map run under the VM's npt_lock, as does the zap of a
 * slot change (svm_vm.c): a lookup that still found a replaced set maps
 * before that zap removes it again.
 */
#include "svm_internal.h"
#include <asm/mmio_insn.h>
#include <vigil/memslot.h>
#include <vigil/spinlock.h>
#include <vigil/string.h>

#define NPF_PRESENT (1u << 0)
#define NPF_WRITE   (1u << 1)
#define NPF_FETCH   (1u << 4)

static enum vcpu_exit_action guest_fail(struct vcpu_run *run, const char *fmt, uint64_t gpa, const char *what,
					const char *detail)
{
	run->guest_failed = true;
	snprintf(run->why, sizeof(run->why), fmt, (unsigned long)gpa, what, detail);
	return VCPU_EXIT_GUEST_FAILED;
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

/* The bytes at the faulting RIP, through the slots (paging off: CS.base +
 * RIP is guest-physical).  How many could be read. */
static size_t read_insn(const struct memslot_set *set, uint64_t at, uint8_t *b, size_t max)
{
	char why[8];
	size_t n = max;
	while (n && memslot_read(set, at, b, n, why, sizeof(why)))
		n--;                  /* the code ends at a slot's end */
	return n;
}

enum vcpu_exit_action svm_npf_handle(struct vm *vm, struct vmcb *v, struct svm_guest_regs *regs,
				     struct vcpu_run *run)
{
	struct svm_vm *sv = vm->arch;
	uint64_t gpa = v->control.exit_info2;
	uint32_t err = (uint32_t)v->control.exit_info1;
	bool write = err & NPF_WRITE, fetch = err & NPF_FETCH;
	vcpu_run_count_exit(run, VEXIT_MEM_FAULT);

	int idx;
	vm_slots_read_lock(vm, &idx);
	const struct memslot_set *set;
	unsigned long flags;
	spin_lock_irqsave(sv->npt_lock, flags);
	set = vm_slots_active(vm);
	const struct memslot *s = memslot_lookup(set, gpa >> PAGE_SHIFT);
	bool ro = s && (s->flags & MEMSLOT_RO);
	int r = 1;
	if (s && !(write && ro))
		r = svm_npt_map_page(&sv->npt, gpa & ~(uint64_t)(PAGE_SIZE - 1), memslot_gfn_to_hpa(s, gpa >> PAGE_SHIFT),
				     !ro);
	spin_unlock_irqrestore(sv->npt_lock, flags);
	if (r == 0) {
		vm_slots_read_unlock(vm, idx);
		return VCPU_EXIT_CONTINUE;   /* the guest repeats the access */
	}
	if (r < 0) {
		vm_slots_read_unlock(vm, idx);
		snprintf(run->why, sizeof(run->why), "out of memory for nested page tables at guest-physical 0x%lx",
			 (unsigned long)gpa);
		return VCPU_EXIT_HOST_FAILED;
	}

	/* An MMIO exit. */
	const char *what = s ? "write to a read-only slot" : fetch ? "fetch" : write ? "write" : "read";
	if (fetch) {
		vm_slots_read_unlock(vm, idx);
		return guest_fail(run, "guest touched unmapped guest-physical 0x%lx (%s%s)", gpa, what,
				  ": no code runs outside the memory slots");
	}
	uint8_t b[15];
	size_t n = read_insn(set, v->save.cs.base + v->save.rip, b, sizeof(b));
	vm_slots_read_unlock(vm, idx);
	struct mmio_insn insn;
	char why[96], detail[112];
	if (mmio_insn_decode(b, n, &insn, why, sizeof(why))) {
		snprintf(detail, sizeof(detail), "; MMIO at rip 0x%lx: %s", (unsigned long)v->save.rip,
			 why);
		return guest_fail(run, "guest touched unmapped guest-physical 0x%lx (%s%s)", gpa, what, detail);
	}
	if (insn.write != write) {
		snprintf(detail, sizeof(detail), "; the instruction at rip 0x%lx is a %s", (unsigned long)v->save.rip,
			 insn.write ? "store" : "load");
		return guest_fail(run, "guest touched unmapped guest-physical 0x%lx (%s%s)", gpa, what, detail);
	}
	if (!insn.write)
		set_reg32(v, regs, insn.reg, MMIO_READ_MARKER);
	v->save.rip += insn.len;
	run->mmio_exits++;
	vm_count_mmio_exit(vm);
	return VCPU_EXIT_CONTINUE;
}

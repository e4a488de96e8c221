/*
 * A nested page fault (AMD NPF, Intel EPT violation) against the VM's
 * memory slots, for both technologies (arch/x86/virt/guest_fault.c): the
 * backend decodes the fault, this decides -- map the page from its slot,
 * or complete the access as MMIO -- and the backend applies the answer
 * (docs/design.md, "Guest memory on demand").
 */
#ifndef ASM_GUEST_FAULT_H
#define ASM_GUEST_FAULT_H
#include <asm/mmio_insn.h>
#include <vigil/types.h>
#include <vigil/virt.h>

struct spinlock;

struct guest_fault {
	uint64_t gpa;
	bool write, fetch;
	uint64_t insn_gpa;         /* CS.base + RIP: the guests run with paging off */
	uint64_t rip;              /* for messages */
	/* Map one 4 KiB page (writable or not) into the VM's nested tables,
	 * called with lock held: 0, or -WHY_NOMEM. */
	int (*map)(struct vm *vm, uint64_t gpa, uint64_t hpa, bool writable);
	struct spinlock *lock;     /* the backend's lock, also held by its zap */
};

/* Handle fault f of vm (which has slots), accounting in run:
 *   CONTINUE with insn->len == 0: the page is mapped, re-enter as is;
 *   CONTINUE with insn->len > 0: an MMIO exit, counted on run and vm --
 *     the backend writes MMIO_READ_MARKER to register insn->reg for a load
 *     (insn->write false) and moves RIP insn->len bytes on;
 *   GUEST_FAILED / HOST_FAILED with run->why. */
enum vcpu_exit_action guest_fault_handle(struct vm *vm, struct vcpu_run *run, const struct guest_fault *f,
					 struct mmio_insn *insn);

#endif

/*
 * A VM's SVM state: the nested page table root and the two permission maps
 * its VMCBs point to (AMD APM vol 2, 15.10.1 "I/O permissions map", 15.11
 * "MSR intercepts").  Both maps are all ones: every port and every MSR the
 * guest touches exits to us, so the guest never reaches real hardware.
 */
#include "svm_internal.h"
#include <vigil/mm.h>
#include <vigil/spinlock.h>
#include <vigil/string.h>
#include <vigil/why.h>

/* The IOPM is 12 KiB (3 pages, physically contiguous, 4 KiB aligned); the
 * MSRPM 8 KiB.  pmm blocks are aligned to their size. */
#define IOPM_ORDER  2
#define MSRPM_ORDER 1

static uint64_t alloc_ones(unsigned order)
{
	uint64_t pa = pmm_alloc_pages(order);
	if (pa)
		memset(phys_to_virt(pa), 0xFF, PAGE_SIZE << order);
	return pa;
}

void svm_vm_destroy(struct vm *vm)
{
	struct svm_vm *sv = vm->arch;
	if (!sv)
		return;
	svm_npt_free(&sv->npt);
	if (sv->iopm_pa)
		pmm_free_pages(sv->iopm_pa, IOPM_ORDER);
	if (sv->msrpm_pa)
		pmm_free_pages(sv->msrpm_pa, MSRPM_ORDER);
	kfree(sv->npt_lock);
	kfree(sv);
	vm->arch = NULL;
}

int svm_vm_init(struct vm *vm, char *why, size_t len)
{
	_Static_assert((PAGE_SIZE << IOPM_ORDER) >= SVM_IOPM_SIZE, "IOPM block too small");
	_Static_assert((PAGE_SIZE << MSRPM_ORDER) >= SVM_MSRPM_SIZE, "MSRPM block too small");
	struct svm_vm *sv = kzalloc(sizeof(*sv));
	if (!sv)
		return why_fail(why, len, WHY_NOMEM, "out of memory for the VM's SVM state");
	vm->arch = sv;
	int npt = svm_npt_init(&sv->npt);
	sv->iopm_pa = alloc_ones(IOPM_ORDER);
	sv->msrpm_pa = alloc_ones(MSRPM_ORDER);
	sv->npt_lock = kzalloc(sizeof(*sv->npt_lock));
	if (sv->npt_lock)
		spin_lock_init(sv->npt_lock);
	if (npt || !sv->iopm_pa || !sv->msrpm_pa || !sv->npt_lock) {
		svm_vm_destroy(vm);
		return why_fail(why, len, WHY_NOMEM, "out of memory for nested page tables and permission maps");
	}
	return 0;
}

/* A VM with memory slots (every VM of vm_create) has nothing mapped up
 * front: its memory comes from the slots (slot 0 shares these very pages),
 * page by page, on nested page faults (svm_npf.c), for live vCPUs and `vm
 * run` alike.  A VM without slots -- the backend self-tests build their own
 * -- is mapped here, whole. */
int svm_vm_map_slot(struct vm *vm, const struct vm_slot *s, char *why, size_t len)
{
	struct svm_vm *sv = vm->arch;
	if (!sv) {
		snprintf(why, len, "VM %u has no nested page tables (vm_init did not run)", vm->id);
		return -1;
	}
	if (vm->memslots)
		return 0;
	return svm_npt_map(&sv->npt, s->gpa, s->hpa, s->size, why, len);
}

void svm_vm_unmap_slot(struct vm *vm, const struct vm_slot *s)
{
	svm_vm_zap_range(vm, s->gpa, s->size);
}

/* A slot went away or moved (the core's changed hook, slots lock held):
 * drop its pages from the nested page tables under npt_lock, then make
 * every vCPU flush before its next entry.  The core kicks the live vCPUs
 * and waits until they are out of the guest. */
void svm_vm_zap_range(struct vm *vm, uint64_t gpa, uint64_t size)
{
	struct svm_vm *sv = vm->arch;
	if (!sv)
		return;
	unsigned long flags;
	spin_lock_irqsave(sv->npt_lock, flags);
	svm_npt_unmap(&sv->npt, gpa, size);
	__atomic_add_fetch(&sv->tlb_gen, 1, __ATOMIC_SEQ_CST);
	spin_unlock_irqrestore(sv->npt_lock, flags);
}

/*
 * Nested page tables (AMD APM vol 2, 15.25 "Nested Paging").  They are
 * ordinary AMD64 page tables walked in the host's paging mode (4-level in
 * long mode, 15.25.3), translating guest-physical to host-physical addresses,
 * so the shared walker (asm/pt_walk.h) builds them with the x86 entry format.
 * Every guest access counts as a user access in the nested walk (15.25.5),
 * so each entry has U set as well as P and W; NX stays clear (executable).
 * We map in 4 KiB pages only.
 *
 * Pages are mapped one at a time as the guest faults on them, from the
 * VM's memory slots (svm_npf.c); read-only slots are mapped without W, so
 * a guest write there faults again and is reported as an MMIO exit.
 *
 * TLB: guests always run with ASID 1.  Every `vm run` starts with a full
 * TLB flush (svm_run.c); a live vCPU flushes its ASID before the first
 * entry after a zap (svm_vm.c tlb_gen, svm_vcpu.c).
 */
#include "svm_internal.h"
#include <asm/paging.h>

#define NPT_ENTRY_FLAGS (PTE_P | PTE_W | PTE_U)

static const struct pt_format npt_format = PT_GUEST_FORMAT(PTE_P, NPT_ENTRY_FLAGS);

int svm_npt_init(struct pt *npt)
{
	return pt_init(npt, &npt_format, &pt_mem_pmm);
}

int svm_npt_map(struct pt *npt, uint64_t gpa, uint64_t hpa, uint64_t size, char *why, size_t len)
{
	return pt_map(npt, gpa, hpa, size, NPT_ENTRY_FLAGS, why, len);
}

void svm_npt_unmap(struct pt *npt, uint64_t gpa, uint64_t size)
{
	pt_unmap(npt, gpa, size);
}

int svm_npt_map_page(struct pt *npt, uint64_t gpa, uint64_t hpa, bool writable)
{
	uint64_t *e = pt_entry(npt, gpa, 1, true);
	if (!e)
		return -WHY_NOMEM;
	uint64_t flags = writable ? NPT_ENTRY_FLAGS : (NPT_ENTRY_FLAGS & ~(uint64_t)PTE_W);
	__atomic_store_n(e, (hpa & PT_ADDR_MASK) | flags, __ATOMIC_RELAXED);
	return 0;
}

void svm_npt_free(struct pt *npt)
{
	pt_destroy(npt);
}

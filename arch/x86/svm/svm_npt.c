/*
 * Nested page tables (AMD APM vol 2, 15.25 "Nested Paging").  They are
 * ordinary AMD64 page tables walked in the host's paging mode (4-level in
 * long mode, 15.25.3), translating guest-physical to host-physical addresses,
 * so the shared walker (asm/pt_walk.h) builds them with the x86 entry format.
 * Every guest access counts as a user access in the nested walk (15.25.5),
 * so each entry has U set as well as P and W; NX stays clear (executable).
 * We map in 4 KiB pages only.
 *
 * TLB: guests always run with ASID 1 and every vcpu_run starts with a full
 * TLB flush (svm_run.c), so a mapping removed here is never used again
 * without further flushing; the core keeps vCPUs out while slots change.
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

void svm_npt_free(struct pt *npt)
{
	pt_destroy(npt);
}

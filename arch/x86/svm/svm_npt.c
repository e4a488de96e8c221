/*
 * Nested page tables (AMD APM vol 2, 15.25 "Nested Paging").  They are
 * ordinary AMD64 page tables walked in the host's paging mode (4-level in
 * long mode, 15.25.3), translating guest-physical to host-physical addresses.
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
#include <vigil/mm.h>
#include <vigil/string.h>

#define NPT_LEVELS      4
#define NPT_ENTRY_FLAGS (PTE_P | PTE_W | PTE_U)
/* Guest-physical addresses a 4-level table can hold. */
#define NPT_GPA_LIMIT   (1ULL << 48)

static uint64_t *table(uint64_t pa)
{
	return phys_to_virt(pa);
}

static uint64_t alloc_table(void)
{
	uint64_t pa = pmm_alloc_page();
	if (pa)
		memset(table(pa), 0, PAGE_SIZE);
	return pa;
}

uint64_t svm_npt_alloc_root(void)
{
	return alloc_table();
}

static unsigned index_at(uint64_t gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* The level-1 entry for gpa, creating missing tables when create is set.
 * NULL when a table is missing (create clear) or cannot be allocated. */
static uint64_t *leaf_entry(uint64_t root, uint64_t gpa, bool create)
{
	uint64_t *t = table(root);
	for (int level = NPT_LEVELS; level > 1; level--) {
		uint64_t *e = &t[index_at(gpa, level)];
		if (!(*e & PTE_P)) {
			uint64_t pa;
			if (!create || !(pa = alloc_table()))
				return NULL;
			*e = pa | NPT_ENTRY_FLAGS;
		}
		t = table(*e & PTE_ADDR_MASK);
	}
	return &t[index_at(gpa, 1)];
}

int svm_npt_map(uint64_t root, uint64_t gpa, uint64_t hpa, uint64_t size, char *why, size_t len)
{
	if (!size || !IS_ALIGNED(gpa, PAGE_SIZE) || !IS_ALIGNED(hpa, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE)) {
		snprintf(why, len, "slot gpa=0x%lx hpa=0x%lx size=0x%lx is not made of whole 4 KiB pages",
			 (unsigned long)gpa, (unsigned long)hpa, (unsigned long)size);
		return -1;
	}
	if (gpa >= NPT_GPA_LIMIT || size > NPT_GPA_LIMIT - gpa) {
		snprintf(why, len, "slot gpa=0x%lx size=0x%lx goes beyond the 48-bit guest-physical space",
			 (unsigned long)gpa, (unsigned long)size);
		return -1;
	}
	uint64_t off;
	for (off = 0; off < size; off += PAGE_SIZE) {
		uint64_t *e = leaf_entry(root, gpa + off, true);
		if (!e) {
			snprintf(why, len, "out of memory for nested page tables");
			goto undo;
		}
		if (*e & PTE_P) {
			snprintf(why, len, "guest-physical 0x%lx is already mapped", (unsigned long)(gpa + off));
			goto undo;
		}
		*e = (hpa + off) | NPT_ENTRY_FLAGS;
	}
	return 0;
undo:
	/* Tables created on the way stay (empty); svm_npt_free takes them. */
	svm_npt_unmap(root, gpa, off);
	return -1;
}

void svm_npt_unmap(uint64_t root, uint64_t gpa, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		uint64_t *e = leaf_entry(root, gpa + off, false);
		if (e)
			__atomic_store_n(e, 0, __ATOMIC_RELAXED);
	}
}

/* Free the table at pa (a level-`level` table) and every table below it;
 * the guest memory the leaves point to belongs to the slots, not to us. */
static void free_table(uint64_t pa, int level)
{
	if (level > 1) {
		uint64_t *t = table(pa);
		for (unsigned i = 0; i < 512; i++)
			if (t[i] & PTE_P)
				free_table(t[i] & PTE_ADDR_MASK, level - 1);
	}
	pmm_free_page(pa);
}

void svm_npt_free(uint64_t root)
{
	if (root)
		free_table(root, NPT_LEVELS);
}

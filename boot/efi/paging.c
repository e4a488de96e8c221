/* SPDX-License-Identifier: MIT */
/*
 * Page tables for the hand-over (boot_info.h, "Rules of the hand-over").
 *
 *  - Identity map of [0, identity_top) with 2 MiB pages (Intel SDM Vol. 3A
 *    section 4.5, 4-level paging: a PDE with PS=1 maps 2 MiB).  1 GiB pages
 *    would be smaller but are optional (CPUID.80000001H:EDX.Page1GB[bit 26]).
 *    The first 2 MiB uses 4 KiB pages instead: it mixes RAM with the legacy
 *    VGA hole and ROM areas, which the MTRRs give different memory types, and
 *    a large page spanning several MTRR types is to be avoided (SDM Vol. 3A,
 *    "Large Page Size Considerations" in the MTRR section of the Memory Cache
 *    Control chapter).
 *  - The kernel image at KERNEL_VIRT_BASE -> kernel_phys_base, 4 KiB pages,
 *    present + writable (the kernel applies its own protections later).
 *
 * Nothing sets NX or the global bit, so the tables work whatever EFER.NXE and
 * CR4.PGE the firmware left behind.  If the firmware runs with 5-level paging
 * (CR4.LA57, which cannot be cleared without leaving long mode, SDM Vol. 3A
 * section 4.1.2) a PML5 is put on top: entry 0 (identity) and entry 511 (the
 * kernel) both point at the one PML4.
 *
 * All tables come from one block of VIGIL_KEEP_MEMORY_TYPE pages, sized in
 * advance, so they are BOOT_MEM_KERNEL in the kernel's memory map.
 */
#include "loader.h"

#define PTE_P    (1ULL << 0)
#define PTE_W    (1ULL << 1)
#define PTE_PS   (1ULL << 7)
#define PTE_ADDR 0x000FFFFFFFFFF000ULL
#define CR4_LA57 (1ULL << 12)

#define SIZE_1GIB   (1ULL << 30)
#define SIZE_512GIB (1ULL << 39)
/* The lower half of a 4-level address space: identity addresses must be
 * canonical with bit 47 clear. */
#define IDENTITY_LIMIT (1ULL << 47)

struct pt_pool {
	UINT64 next, end; /* physical == virtual while boot services run */
};

static UINT64 *table_alloc(struct pt_pool *p)
{
	UINT64 t = p->next;

	if (t >= p->end)
		return NULL;
	p->next += EFI_PAGE_BYTES;
	return (UINT64 *)(UINTN)t; /* keep_pages_* zeroed it */
}

static UINT64 *next_level(struct pt_pool *p, UINT64 *entry)
{
	if (!(*entry & PTE_P)) {
		UINT64 *t = table_alloc(p);

		if (!t)
			return NULL;
		*entry = (UINT64)(UINTN)t | PTE_P | PTE_W;
	}
	return (UINT64 *)(UINTN)(*entry & PTE_ADDR);
}

/* Map one page: leaf 1 = 4 KiB PTE, leaf 2 = 2 MiB PDE. */
static EFI_STATUS map(struct pt_pool *p, UINT64 *pml4, UINT64 va, UINT64 pa, int leaf)
{
	UINT64 *t = pml4;
	int level;

	for (level = 4; level > leaf; level--) {
		t = next_level(p, &t[(va >> (12 + 9 * (level - 1))) & 511]);
		if (!t)
			return EFI_OUT_OF_RESOURCES;
	}
	t[(va >> (12 + 9 * (leaf - 1))) & 511] = pa | PTE_P | PTE_W | (leaf == 2 ? PTE_PS : 0);
	return EFI_SUCCESS;
}

static UINT64 span_count(UINT64 start, UINT64 end, unsigned shift)
{
	return ((end - 1) >> shift) - (start >> shift) + 1;
}

static UINT64 read_cr4(void)
{
	UINT64 v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

EFI_STATUS paging_build(UINT64 identity_top, const struct kernel_image *k, UINT64 *cr3)
{
	BOOLEAN la57 = (read_cr4() & CR4_LA57) != 0;
	UINT64 kstart = KERNEL_VIRT_BASE, kend = KERNEL_VIRT_BASE + k->size;
	UINT64 top = ALIGN_UP(identity_top, SIZE_2MIB), pages, base = 0, a;
	struct pt_pool pool;
	UINT64 *pml4, *pml5 = NULL;
	EFI_STATUS st;

	if (top > IDENTITY_LIMIT) {
		log_error(L"memory reaches 0x%lx, beyond what 4-level paging can identity map",
			  identity_top);
		return EFI_UNSUPPORTED;
	}
	pages = 1 + (la57 ? 1 : 0)                         /* PML4, PML5 */
		+ span_count(0, top, 39) + span_count(0, top, 30) /* PDPTs, PDs */
		+ 1                                             /* PT for [0, 2 MiB) */
		+ 1 + span_count(kstart, kend, 30)              /* kernel PDPT, PDs */
		+ span_count(kstart, kend, 21);                 /* kernel PTs */

	st = keep_pages_below(SIZE_4GIB - 1, (UINTN)pages, &base);
	if (EFI_ERROR(st))
		st = keep_pages_aligned(0, (UINTN)pages, EFI_PAGE_BYTES, &base);
	if (EFI_ERROR(st)) {
		log_error(L"no memory for %ld pages of page tables: %r", pages, st);
		return st;
	}
	pool.next = base;
	pool.end = base + pages * EFI_PAGE_BYTES;
	if (la57)
		pml5 = table_alloc(&pool);
	pml4 = table_alloc(&pool);

	for (a = 0; a < SIZE_2MIB && !EFI_ERROR(st); a += EFI_PAGE_BYTES)
		st = map(&pool, pml4, a, a, 1);
	for (a = SIZE_2MIB; a < top && !EFI_ERROR(st); a += SIZE_2MIB)
		st = map(&pool, pml4, a, a, 2);
	for (a = 0; a < k->size && !EFI_ERROR(st); a += EFI_PAGE_BYTES)
		st = map(&pool, pml4, kstart + a, k->phys_base + a, 1);
	if (EFI_ERROR(st)) {
		/* The pool was sized for exactly this layout. */
		log_error(L"page-table pool of %ld pages ran out (loader bug)", pages);
		return st;
	}

	if (pml5) {
		pml5[0] = (UINT64)(UINTN)pml4 | PTE_P | PTE_W;
		pml5[511] = (UINT64)(UINTN)pml4 | PTE_P | PTE_W;
		*cr3 = (UINT64)(UINTN)pml5;
		log_warn(L"firmware uses 5-level paging: the kernel is entered with CR4.LA57 set");
	} else {
		*cr3 = (UINT64)(UINTN)pml4;
	}
	log_info(L"page tables at 0x%lx (%ld pages): identity [0, 0x%lx), kernel 0x%lx -> 0x%lx",
		 base, (pool.next - base) / EFI_PAGE_BYTES, top, kstart, k->phys_base);
	return EFI_SUCCESS;
}

/*
 * One walker for the three kinds of x86 page tables vigil builds: the host's
 * own 4-level paging (SDM vol 3, 4.5), EPT (SDM vol 3, 29.3) and AMD nested
 * page tables (APM vol 2, 15.25; ordinary AMD64 tables walked for
 * guest-physical addresses).  All three are trees of 512-entry tables with 9
 * address bits per level and a 4 KiB leaf at level 1; they differ only in
 * the entry format, which struct pt_format describes.  Leaf flags (rights,
 * memory type) are the caller's: arch/x86/paging.c, arch/x86/vmx/vmx_ept.c,
 * arch/x86/svm/svm_npt.c.
 *
 * Pure logic over memory that struct pt_mem hands out, so the host unit
 * tests (tests/unit/test_pt_walk.c) run the same code over malloc'd pages.
 */
#ifndef ASM_PT_WALK_H
#define ASM_PT_WALK_H
#include <vigil/types.h>

#define PT_ENTRIES    512
#define PT_LEVEL_BITS 9
#define PT_PAGE_SHIFT 12
#define PT_ADDR_MASK  0x000FFFFFFFFFF000ULL   /* bits 51:12 in every format */

struct pt_format {
	const char *space;         /* what the walked addresses are, for messages ("guest-physical") */
	unsigned levels;           /* 4: PML4, PDPT, PD, PT */
	/* An entry is present when any of these bits is set (x86 and NPT: P;
	 * EPT: read, write or execute, 29.3.2). */
	uint64_t present;
	/* What a new non-leaf entry holds besides the address: everything
	 * allowed, so that the leaf alone decides (x86: P|W, NPT: P|W|U,
	 * EPT: R|W|X). */
	uint64_t table_flags;
	/* The bit that makes a level-2 or level-3 entry a leaf (PS, bit 7, in
	 * all three formats), 0 if the user maps only 4 KiB pages. */
	uint64_t large;
};

/* Nested paging's format (EPT, NPT): guest-physical addresses, 4 levels,
 * 4 KiB leaves only. */
#define PT_GUEST_FORMAT(present_bits, table_entry_flags) {                 \
	.space = "guest-physical", .levels = 4, .present = (present_bits), \
	.table_flags = (table_entry_flags), .large = 0,                    \
}

/* Where table pages come from and how to reach them. */
struct pt_mem {
	uint64_t (*alloc)(void *arg);          /* a zeroed page's physical address, 0 when none */
	void (*free)(void *arg, uint64_t pa);
	void *(*va)(uint64_t pa);
	void *arg;
};

struct pt {
	const struct pt_format *fmt;
	const struct pt_mem *mem;
	uint64_t root;             /* physical address of the top-level table */
	unsigned tables;           /* table pages in use, root included */
};

/* Allocate the root.  0, or -1 when there is no memory. */
int pt_init(struct pt *pt, const struct pt_format *fmt, const struct pt_mem *mem);
/* Bytes one entry at `level` maps (level 1: 4 KiB, 2: 2 MiB, 3: 1 GiB). */
static inline uint64_t pt_level_size(unsigned level)
{
	return 1ULL << (PT_PAGE_SHIFT + PT_LEVEL_BITS * (level - 1));
}
/* Addresses the tree can translate: [0, pt_limit). */
static inline uint64_t pt_limit(const struct pt *pt)
{
	return pt_level_size(pt->fmt->levels) * PT_ENTRIES;
}
/* The entry for addr at level (1 = the 4 KiB leaf level), creating missing
 * tables on the way when create is set.  NULL when a table is missing (and
 * !create), no table page is left, or a large leaf above `level` already
 * maps addr. */
uint64_t *pt_entry(struct pt *pt, uint64_t addr, unsigned level, bool create);
static inline bool pt_present(const struct pt *pt, uint64_t e)
{
	return (e & pt->fmt->present) != 0;
}
/* Map [addr, addr+size) to [pa, pa+size) in 4 KiB leaves carrying
 * leaf_flags (which must include a present bit).  Refuses (-1, why) an
 * empty or unaligned range, one beyond pt_limit, an address already mapped
 * ("... is already mapped"), or running out of table pages (-WHY_NOMEM,
 * "out of memory for page tables ..."), and then leaves
 * no leaf of the range behind (tables created on the way stay, empty, until
 * pt_destroy). */
int pt_map(struct pt *pt, uint64_t addr, uint64_t pa, uint64_t size, uint64_t leaf_flags, char *why, size_t len);
/* Clear the 4 KiB leaves of [addr, addr+size) (absent ones are skipped). */
void pt_unmap(struct pt *pt, uint64_t addr, uint64_t size);
/* Free every table page (not the memory the leaves point to). */
void pt_destroy(struct pt *pt);

/* Kernel only (arch/x86/mm/pt_mem.c): table pages from the page allocator,
 * reached through the direct map.  EPT and nested page tables use it. */
extern const struct pt_mem pt_mem_pmm;
#endif

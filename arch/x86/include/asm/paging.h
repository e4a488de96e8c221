/* Kernel page tables (Intel SDM vol 3, 4.5 "4-level paging"). */
#ifndef ASM_PAGING_H
#define ASM_PAGING_H
#include <vigil/types.h>
#include <vigil/boot_info.h>

#define PTE_P    (1ULL << 0)
#define PTE_W    (1ULL << 1)
#define PTE_U    (1ULL << 2)
#define PTE_PWT  (1ULL << 3)
#define PTE_PCD  (1ULL << 4)
#define PTE_A    (1ULL << 5)
#define PTE_D    (1ULL << 6)
#define PTE_PS   (1ULL << 7)
#define PTE_G    (1ULL << 8)
#define PTE_NX   (1ULL << 63)
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ULL

/* Every physical address is reachable at PAGE_OFFSET + phys (the direct map). */
#define PAGE_OFFSET   0xFFFF800000000000ULL
/* MMIO mappings (uncached) are handed out from here. */
#define IOREMAP_BASE  0xFFFFC00000000000ULL
#define IOREMAP_SIZE  (1ULL << 30)

extern uint64_t kernel_phys_base;
extern uint64_t kernel_pml4_phys;

/* Build the kernel's own page tables from the memory map and switch to them. */
void paging_init(const struct boot_info *bi);
/* Map [phys, phys+size) uncached and return its virtual address (never fails
 * silently: panics when the ioremap window is exhausted). */
void *ioremap(uint64_t phys, size_t size);
/* Identity-map one page (the AP/S3 trampoline runs with paging turned on
 * from its own physical address). */
void paging_identity_map_page(uint64_t phys);
uint64_t direct_map_limit(void);
/* Boot-time paging (paging.c): the early page-table range the loader gave,
 * the switch to the page allocator, and mapping one kernel page (stacks). */
void paging_early_range(uint64_t *start, uint64_t *end);
void paging_page_alloc_ready(void);
void paging_map_kernel_page(uint64_t va, uint64_t pa);
#endif

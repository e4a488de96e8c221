/* Page-table pages from the page allocator (asm/pt_walk.h), for the tables
 * built once the allocator is up: EPT and nested page tables. */
#include <asm/pt_walk.h>
#include <vigil/mm.h>
#include <vigil/string.h>

static uint64_t pmm_table_alloc(void *arg)
{
	(void)arg;
	uint64_t pa = pmm_alloc_page();
	if (pa)
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

static void pmm_table_free(void *arg, uint64_t pa)
{
	(void)arg;
	pmm_free_page(pa);
}

const struct pt_mem pt_mem_pmm = {
	.alloc = pmm_table_alloc,
	.free = pmm_table_free,
	.va = phys_to_virt,
};

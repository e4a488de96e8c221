/*
 * The kernel's own page tables (SDM vol 3, 4.5 "4-level paging"):
 *  - the direct map: PAGE_OFFSET + phys for [0, max(4 GiB, end of RAM)),
 *    2 MiB pages, write-back, never executable;
 *  - the kernel image at KERNEL_VIRT_BASE with 4 KiB pages and per-section
 *    rights (text RX, rodata R, data/bss RW+NX);
 *  - an ioremap window of uncached 4 KiB mappings for MMIO.  Caching of the
 *    MMIO ranges in the direct map is still UC through the firmware's MTRRs
 *    (SDM vol 3, 12.5.2.2: a UC MTRR wins over a WB PAT type), and nothing
 *    accesses MMIO through it.
 * The loader's identity map is dropped: nothing below PAGE_OFFSET is mapped
 * except pages mapped on purpose (the AP trampoline).
 *
 * The tables are built by the shared walker (asm/pt_walk.h) with the x86
 * entry format.  Their pages come from an early bump allocator (the memory
 * map's first usable range above 1 MiB that lies under 4 GiB, so the
 * loader's identity map reaches it) until the page allocator is up.
 */
#include <asm/cpu.h>
#include <asm/paging.h>
#include <asm/pt_walk.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/string.h>

uint64_t kernel_phys_base;
uint64_t kernel_pml4_phys;
static struct pt kernel_pt;
static bool direct_map_live;
static uint64_t direct_map_end;
static uint64_t nx_bit;

/* Early bump allocator. */
static uint64_t early_next, early_end, early_start;
static bool page_alloc_ready;

extern char __kernel_start[], __text_end[], __kernel_end[];

void *phys_to_virt(uint64_t phys)
{
	if (!direct_map_live)
		return (void *)phys; /* loader's identity map */
	return (void *)(phys + PAGE_OFFSET);
}

uint64_t virt_to_phys(const void *virt)
{
	uint64_t v = (uint64_t)virt;
	if (v >= KERNEL_VIRT_BASE)
		return v - KERNEL_VIRT_BASE + kernel_phys_base;
	if (v >= PAGE_OFFSET && v < PAGE_OFFSET + direct_map_end)
		return v - PAGE_OFFSET;
	panic("virt_to_phys: %p is neither in the kernel image nor in the direct map", virt);
}

uint64_t direct_map_limit(void)
{
	return direct_map_end;
}

void paging_early_range(uint64_t *start, uint64_t *end)
{
	*start = early_start;
	*end = early_next;
}

void paging_page_alloc_ready(void)
{
	page_alloc_ready = true;
}

static uint64_t alloc_table_page(void *arg)
{
	(void)arg;
	uint64_t p;
	if (page_alloc_ready) {
		p = pmm_alloc_page();
		if (!p)
			panic("paging: out of memory for page tables");
	} else {
		if (early_next + PAGE_SIZE > early_end)
			panic("paging: early page-table pool exhausted");
		p = early_next;
		early_next += PAGE_SIZE;
	}
	memset(phys_to_virt(p), 0, PAGE_SIZE);
	return p;
}

static void pick_early_pool(const struct boot_info *bi)
{
	/* 2 MiB of page tables maps 1 GiB per 4 KiB... plenty: the direct map
	 * with 2 MiB pages needs one PD page per GiB of physical address space. */
	const uint64_t want = 4ULL << 20;
	for (uint32_t i = 0; i < bi->mmap_count; i++) {
		const struct boot_mem_region *r = &bi->mmap[i];
		if (r->type != BOOT_MEM_USABLE)
			continue;
		uint64_t s = ALIGN_UP(MAX(r->base, 0x100000ULL), PAGE_SIZE);
		uint64_t e = ALIGN_DOWN(r->base + r->length, PAGE_SIZE);
		if (e > (4ULL << 30))
			e = 4ULL << 30;
		if (e > s && e - s >= want) {
			early_start = early_next = s;
			early_end = s + want;
			return;
		}
	}
	panic("paging: no usable 4 MiB below 4 GiB for the early page tables");
}

/* The kernel's tables are never freed. */
static void free_table_page(void *arg, uint64_t pa)
{
	(void)arg;
	panic("paging: kernel page-table page 0x%lx freed", (unsigned long)pa);
}

static const struct pt_mem kernel_pt_mem = {
	.alloc = alloc_table_page,
	.free = free_table_page,
	.va = phys_to_virt,  /* the loader's identity map, then the direct map */
};

static const struct pt_format x86_format = {
	.space = "virtual",
	.levels = 4,
	.present = PTE_P,
	/* Intermediate entries are permissive; the leaf decides. */
	.table_flags = PTE_P | PTE_W,
	.large = PTE_PS,
};

/* Walk to (creating) the entry for va at the given level (1 = PT, 2 = PD).
 * Allocation failures panic in alloc_table_page. */
static uint64_t *walk(uint64_t va, int target_level)
{
	uint64_t *e = pt_entry(&kernel_pt, va, (unsigned)target_level, true);
	if (!e)
		panic("paging: %lx already mapped by a large page", va);
	return e;
}

static void map_4k(uint64_t va, uint64_t pa, uint64_t flags)
{
	*walk(va, 1) = (pa & PTE_ADDR_MASK) | flags | PTE_P;
}

static void map_2m(uint64_t va, uint64_t pa, uint64_t flags)
{
	*walk(va, 2) = (pa & PTE_ADDR_MASK) | flags | PTE_P | PTE_PS;
}

static uint64_t memory_top(const struct boot_info *bi)
{
	uint64_t top = 4ULL << 30;
	/* Above 4 GiB only RAM is mapped: reserved ranges up there are MMIO
	 * windows (QEMU puts one near 1 TiB) that would cost page tables. */
	for (uint32_t i = 0; i < bi->mmap_count; i++) {
		if (bi->mmap[i].type == BOOT_MEM_RESERVED)
			continue;
		uint64_t end = bi->mmap[i].base + bi->mmap[i].length;
		if (end > top)
			top = end;
	}
	return ALIGN_UP(top, 2ULL << 20);
}

static void map_kernel_image(void)
{
	uint64_t start = (uint64_t)__kernel_start;
	uint64_t end = ALIGN_UP((uint64_t)__kernel_end, PAGE_SIZE);
	uint64_t text_end = ALIGN_UP((uint64_t)__text_end, PAGE_SIZE);
	extern char __rodata_end[];
	uint64_t ro_end = ALIGN_UP((uint64_t)__rodata_end, PAGE_SIZE);
	for (uint64_t va = start; va < end; va += PAGE_SIZE) {
		uint64_t flags = PTE_G;
		if (va < text_end)
			flags |= 0; /* read + execute */
		else if (va < ro_end)
			flags |= nx_bit;
		else
			flags |= PTE_W | nx_bit;
		map_4k(va, va - KERNEL_VIRT_BASE + kernel_phys_base, flags);
	}
}

void paging_init(const struct boot_info *bi)
{
	kernel_phys_base = bi->kernel_phys_base;
	if (boot_cpu.nx) {
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
		nx_bit = PTE_NX;
	}
	pick_early_pool(bi);
	pt_init(&kernel_pt, &x86_format, &kernel_pt_mem);  /* panics rather than fail */
	kernel_pml4_phys = kernel_pt.root;

	direct_map_end = memory_top(bi);
	for (uint64_t pa = 0; pa < direct_map_end; pa += 2ULL << 20)
		map_2m(PAGE_OFFSET + pa, pa, PTE_W | PTE_G | nx_bit);
	map_kernel_image();

	write_cr4(read_cr4() | X86_CR4_PGE);
	write_cr0(read_cr0() | X86_CR0_WP);
	write_cr3(kernel_pml4_phys);
	direct_map_live = true;
}

static uint64_t ioremap_next = IOREMAP_BASE;

void *ioremap(uint64_t phys, size_t size)
{
	uint64_t off = phys & (PAGE_SIZE - 1);
	uint64_t start = phys - off;
	uint64_t len = ALIGN_UP(size + off, PAGE_SIZE);
	if (ioremap_next + len > IOREMAP_BASE + IOREMAP_SIZE)
		panic("ioremap: window exhausted mapping 0x%lx+0x%zx", phys, size);
	uint64_t va = ioremap_next;
	ioremap_next += len + PAGE_SIZE; /* unmapped guard page between mappings */
	for (uint64_t i = 0; i < len; i += PAGE_SIZE)
		map_4k(va + i, start + i, PTE_W | PTE_PCD | PTE_PWT | PTE_G | nx_bit);
	return (void *)(va + off);
}

/* One 4 KiB page of kernel data (writable, not executable, global): the
 * task stacks (stack_map.c).  Callers serialise. */
void paging_map_kernel_page(uint64_t va, uint64_t pa)
{
	map_4k(va, pa, PTE_W | PTE_G | PTE_A | PTE_D | nx_bit);
}

void paging_identity_map_page(uint64_t phys)
{
	/* Accessed and Dirty set up front (SDM vol 3, 4.8: software may set
	 * them; the processor then has nothing to write): otherwise every S3
	 * wake and AP start sets them in this page-table page, which the
	 * suspend page hash (hash=1) would report as a change. */
	map_4k(phys, phys, PTE_W | PTE_A | PTE_D);
	invlpg(phys);
}

/*
 * The page-table walker behind host paging, EPT and nested paging
 * (asm/pt_walk.h says what differs between them and who uses it).
 */
#include <asm/pt_walk.h>
#include <vigil/string.h>
#include <vigil/why.h>

static uint64_t *table_of(const struct pt *pt, uint64_t pa)
{
	return pt->mem->va(pa);
}

static uint64_t new_table(struct pt *pt)
{
	uint64_t pa = pt->mem->alloc(pt->mem->arg);
	if (pa)
		pt->tables++;
	return pa;
}

static unsigned index_at(uint64_t addr, unsigned level)
{
	return (addr >> (PT_PAGE_SHIFT + PT_LEVEL_BITS * (level - 1))) & (PT_ENTRIES - 1);
}

int pt_init(struct pt *pt, const struct pt_format *fmt, const struct pt_mem *mem)
{
	pt->fmt = fmt;
	pt->mem = mem;
	pt->tables = 0;
	pt->root = new_table(pt);
	return pt->root ? 0 : -1;
}

uint64_t *pt_entry(struct pt *pt, uint64_t addr, unsigned level, bool create)
{
	uint64_t *t = table_of(pt, pt->root);
	for (unsigned l = pt->fmt->levels; l > level; l--) {
		uint64_t *e = &t[index_at(addr, l)];
		if (!pt_present(pt, *e)) {
			uint64_t pa;
			if (!create || !(pa = new_table(pt)))
				return NULL;
			*e = pa | pt->fmt->table_flags;
		} else if (l <= 3 && (*e & pt->fmt->large)) {
			return NULL;  /* a large page maps addr already */
		}
		t = table_of(pt, *e & PT_ADDR_MASK);
	}
	return &t[index_at(addr, level)];
}

void pt_unmap(struct pt *pt, uint64_t addr, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += pt_level_size(1)) {
		uint64_t *e = pt_entry(pt, addr + off, 1, false);
		if (e)
			__atomic_store_n(e, 0, __ATOMIC_RELAXED);
	}
}

int pt_map(struct pt *pt, uint64_t addr, uint64_t pa, uint64_t size, uint64_t leaf_flags, char *why, size_t len)
{
	const uint64_t page = pt_level_size(1);
	if (!size || !IS_ALIGNED(addr, page) || !IS_ALIGNED(pa, page) || !IS_ALIGNED(size, page)) {
		snprintf(why, len, "%s range 0x%lx+0x%lx -> 0x%lx is empty or not made of whole 4 KiB pages",
			 pt->fmt->space, (unsigned long)addr, (unsigned long)size, (unsigned long)pa);
		return -1;
	}
	uint64_t limit = pt_limit(pt);
	if (addr >= limit || size > limit - addr) {
		snprintf(why, len, "%s range 0x%lx+0x%lx goes beyond the %u-level tables' 0x%lx", pt->fmt->space,
			 (unsigned long)addr, (unsigned long)size, pt->fmt->levels, (unsigned long)limit);
		return -1;
	}
	uint64_t off;
	int rc = -1;
	for (off = 0; off < size; off += page) {
		uint64_t *e = pt_entry(pt, addr + off, 1, true);
		if (!e) {
			/* Memory running out, not a fault: the cause says so. */
			rc = why_fail(why, len, WHY_NOMEM, "out of memory for page tables mapping %s 0x%lx",
				      pt->fmt->space, (unsigned long)(addr + off));
			goto undo;
		}
		if (pt_present(pt, *e)) {
			snprintf(why, len, "%s 0x%lx is already mapped", pt->fmt->space, (unsigned long)(addr + off));
			goto undo;
		}
		*e = ((pa + off) & PT_ADDR_MASK) | leaf_flags;
	}
	return 0;
undo:
	pt_unmap(pt, addr, off);
	return rc;
}

/* Free the table at pa (at `level`) and every table below it. */
static void free_tree(struct pt *pt, uint64_t pa, unsigned level)
{
	if (level > 1) {
		uint64_t *t = table_of(pt, pa);
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			if (pt_present(pt, t[i]) && !(level <= 3 && (t[i] & pt->fmt->large)))
				free_tree(pt, t[i] & PT_ADDR_MASK, level - 1);
	}
	pt->mem->free(pt->mem->arg, pa);
	pt->tables--;
}

void pt_destroy(struct pt *pt)
{
	if (pt->root)
		free_tree(pt, pt->root, pt->fmt->levels);
	pt->root = 0;
}

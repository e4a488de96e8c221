/*
 * Hashing every kernel-owned page across a sleep (include/vigil/page_snapshot.h).
 *
 * ACPI 6.5 16.3 and the UEFI memory map promise the OS that RAM reported as
 * usable is left alone while it sleeps in S3; firmware that breaks that
 * promise corrupts whatever the kernel kept there, silently.  This is the
 * debug mode that makes such writes visible: FNV-1a over each page before
 * SLP_EN, again right after the wake, and every difference named with the
 * page's owner.
 */
#include <vigil/mm.h>
#include <vigil/page_snapshot.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/string.h>
#include <vigil/task.h>

#include "page_owner.h"

struct page_entry {
	uint64_t phys;
	uint64_t hash;
};

struct page_snapshot {
	struct page_entry *e;
	unsigned cap, n;
	bool overflow;
	uint64_t skip, skip_len;
	uint64_t self, self_len;   /* the entry array itself */
	bool all;                  /* free pages too */
	unsigned nr_changed;
	uint64_t changed[PAGE_SNAPSHOT_MAX_CHANGED];
};

static uint64_t hash_page(uint64_t phys)
{
	const uint64_t *w = phys_to_virt(phys);
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < PAGE_SIZE / 8; i++) {
		h ^= w[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static bool skipped(const struct page_snapshot *ps, uint64_t p)
{
	return (p >= ps->skip && p < ps->skip + ps->skip_len) || (p >= ps->self && p < ps->self + ps->self_len);
}

static void add_page(struct page_snapshot *ps, uint64_t p)
{
	if (skipped(ps, p))
		return;
	if (ps->n >= ps->cap) {
		ps->overflow = true;
		return;
	}
	ps->e[ps->n].phys = p;
	ps->e[ps->n].hash = hash_page(p);
	ps->n++;
}

/* Free pages are filled with this before they are hashed: whatever the
 * firmware writes there then shows, zeros included. */
#define FREE_POISON 0x5afe5afe5afe5afeULL

static void take_block(uint64_t phys, unsigned order, enum page_owner owner, void *arg)
{
	struct page_snapshot *ps = arg;

	for (uint64_t i = 0; i < (1ULL << order); i++) {
		uint64_t p = phys + i * PAGE_SIZE;
		if (owner == PAGE_OWNER_FREE && !skipped(ps, p)) {
			uint64_t *w = phys_to_virt(p);
			for (size_t k = 0; k < PAGE_SIZE / 8; k++)
				w[k] = FREE_POISON;
		}
		add_page(ps, p);
	}
}

struct page_snapshot *page_snapshot_alloc(bool all)
{
	/* Room for what is allocated now, plus slack for what the suspend path
	 * allocates before the take (the metadata pages are counted in).  One
	 * allocation for the header and the entries: the snapshot's own pages
	 * change while it works and are left out. */
	uint64_t used = all ? pmm_total_count() : pmm_total_count() - pmm_free_count();
	unsigned cap = (unsigned)(used + used / 4 + 1024);
	size_t bytes = sizeof(struct page_snapshot) + cap * sizeof(struct page_entry);
	struct page_snapshot *ps = kzalloc(bytes);
	if (!ps)
		return NULL;
	ps->cap = cap;
	ps->all = all;
	ps->e = (struct page_entry *)(ps + 1);
	ps->self = ALIGN_DOWN(virt_to_phys(ps), PAGE_SIZE);
	ps->self_len = ALIGN_UP(virt_to_phys(ps) + bytes, PAGE_SIZE) - ps->self;
	return ps;
}

void page_snapshot_free(struct page_snapshot *ps)
{
	kfree(ps);
}

bool page_snapshot_take(struct page_snapshot *ps, uint64_t skip, uint64_t skip_len)
{
	uint64_t meta, meta_len;

	ps->n = 0;
	ps->overflow = false;
	ps->skip = skip;
	ps->skip_len = skip_len;
	pmm_for_each_block(take_block, ps, ps->all, &meta, &meta_len);
	for (uint64_t p = meta; p < meta + meta_len; p += PAGE_SIZE)
		add_page(ps, p);
	return !ps->overflow;
}

unsigned page_snapshot_count(const struct page_snapshot *ps)
{
	return ps->n;
}

unsigned page_snapshot_compare(struct page_snapshot *ps)
{
	ps->nr_changed = 0;
	for (unsigned i = 0; i < ps->n; i++) {
		if (hash_page(ps->e[i].phys) == ps->e[i].hash)
			continue;
		if (ps->nr_changed < PAGE_SNAPSHOT_MAX_CHANGED)
			ps->changed[ps->nr_changed] = ps->e[i].phys;
		ps->nr_changed++;
	}
	return ps->nr_changed;
}

unsigned page_snapshot_nr_changed(const struct page_snapshot *ps)
{
	return ps->nr_changed;
}

uint64_t page_snapshot_changed(const struct page_snapshot *ps, unsigned i)
{
	return i < ps->nr_changed && i < PAGE_SNAPSHOT_MAX_CHANGED ? ps->changed[i] : 0;
}

void page_snapshot_report(const struct page_snapshot *ps, const char *prefix)
{
	char owner[112];

	for (unsigned i = 0; i < ps->nr_changed && i < PAGE_SNAPSHOT_MAX_CHANGED; i++) {
		page_owner_describe(ps->changed[i], owner, sizeof(owner));
		printk("%s: page 0x%lx changed while asleep: %s\n", prefix, (unsigned long)ps->changed[i], owner);
	}
	printk("%s: page hash: %u %s pages checked, %u changed\n", prefix, ps->n, ps->all ? "usable" : "kernel",
	       ps->nr_changed);
}

void page_owner_describe(uint64_t phys, char *buf, size_t len)
{
	uint64_t start, meta, meta_len;
	unsigned order;
	enum page_owner owner;

	if (sched_describe_stack_page(phys, buf, len))
		return;
	if (!pmm_find_block(phys, &start, &order, &owner)) {
		pmm_for_each_block(NULL, NULL, false, &meta, &meta_len);
		if (phys >= meta && phys < meta + meta_len)
			snprintf(buf, len, "page allocator metadata");
		else
			snprintf(buf, len, "free (the kernel keeps nothing there)");
		return;
	}
	static const char *const names[] = {"page block", "kmalloc slab", "kmalloc large block"};
	snprintf(buf, len, "%s at 0x%lx order %u", owner < 3 ? names[owner] : "?", (unsigned long)start, order);
}

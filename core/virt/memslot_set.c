/*
 * A set of memory slots: an array sorted by guest-physical address, slots
 * disjoint, so the slot holding a gfn is found by binary search (what a
 * nested page fault does) and a new slot's neighbours are the only
 * candidates for an overlap.
 */
#include <vigil/memslot.h>
#include <vigil/mm.h>
#include <vigil/string.h>

#define MEMSLOT_SET_MIN 4

struct memslot_set *memslot_set_alloc(unsigned gpa_bits)
{
	struct memslot_set *set = kmalloc(sizeof(*set));
	if (!set)
		return NULL;
	set->nr = 0;
	set->cap = 0;
	set->slot = NULL;
	set->gpa_bits = gpa_bits;
	set->generation = 0;
	if (memslot_set_reserve(set, MEMSLOT_SET_MIN)) {
		kfree(set);
		return NULL;
	}
	return set;
}

int memslot_set_reserve(struct memslot_set *set, unsigned n)
{
	if (n <= set->cap)
		return 0;
	unsigned cap = set->cap ? set->cap : MEMSLOT_SET_MIN;
	while (cap < n)
		cap *= 2;
	cap = MIN(MAX(cap, n), MEMSLOT_MAX);
	if (cap < n)
		return -WHY_NOMEM;
	struct memslot *slot = kmalloc(cap * sizeof(*slot));
	if (!slot)
		return -WHY_NOMEM;
	if (set->nr)
		memcpy(slot, set->slot, set->nr * sizeof(*slot));
	kfree(set->slot);
	set->slot = slot;
	set->cap = cap;
	return 0;
}

void memslot_set_clear(struct memslot_set *set)
{
	for (unsigned i = 0; i < set->nr; i++)
		memslot_backing_put(set->slot[i].backing);
	set->nr = 0;
}

void memslot_set_free(struct memslot_set *set)
{
	if (!set)
		return;
	memslot_set_clear(set);
	kfree(set->slot);
	kfree(set);
}

void memslot_set_copy(struct memslot_set *dst, const struct memslot_set *src)
{
	/* Take the new references before dropping the old ones: a backing both
	 * sets hold must not reach zero in between. */
	for (unsigned i = 0; i < src->nr; i++)
		memslot_backing_get(src->slot[i].backing);
	memslot_set_clear(dst);
	memcpy(dst->slot, src->slot, src->nr * sizeof(src->slot[0]));
	dst->nr = src->nr;
	dst->gpa_bits = src->gpa_bits;
	dst->generation = src->generation;
}

unsigned memslot_lower_bound(const struct memslot_set *set, uint64_t gpa)
{
	unsigned lo = 0, hi = set->nr;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct memslot *s = &set->slot[mid];
		if (s->gpa + s->size <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct memslot *memslot_lookup(const struct memslot_set *set, uint64_t gfn)
{
	if (gfn > UINT64_MAX >> PAGE_SHIFT)
		return NULL;
	uint64_t gpa = gfn << PAGE_SHIFT;
	unsigned i = memslot_lower_bound(set, gpa);
	if (i < set->nr && set->slot[i].gpa <= gpa)
		return &set->slot[i];
	return NULL;
}

struct memslot *memslot_by_id(const struct memslot_set *set, unsigned id, unsigned *idx)
{
	for (unsigned i = 0; i < set->nr; i++)
		if (set->slot[i].id == id) {
			if (idx)
				*idx = i;
			return (struct memslot *)&set->slot[i];
		}
	return NULL;
}

/* Copy len bytes between buf and guest-physical gpa, page by page through
 * the frames.  Every byte must lie in a slot. */
static int copy_through(const struct memslot_set *set, uint64_t gpa, void *buf, size_t len, bool write, bool force,
		  char *why, size_t wlen)
{
	/* Check the whole range first so a refused write changes nothing. */
	for (uint64_t a = gpa, left = len; left;) {
		const struct memslot *s = memslot_lookup(set, a >> PAGE_SHIFT);
		if (!s)
			return why_fail(why, wlen, WHY_NO_SLOT, "no slot at gpa 0x%lx", (unsigned long)a);
		if (write && (s->flags & MEMSLOT_RO) && !force)
			return why_fail(why, wlen, WHY_READ_ONLY, "slot %u at gpa 0x%lx is read-only", s->id,
					(unsigned long)a);
		uint64_t n = MIN(left, PAGE_SIZE - (a & (PAGE_SIZE - 1)));
		/* A reclaimed page is faulted back in here, before anything is
		 * copied (memslot_gfn_to_hpa), so running out of memory for it
		 * changes nothing either. */
		if (!memslot_gfn_to_hpa(s, a >> PAGE_SHIFT))
			return why_fail(why, wlen, WHY_NOMEM, "out of memory to fault gpa 0x%lx back in",
					(unsigned long)a);
		a += n;
		left -= n;
	}
	uint8_t *p = buf;
	for (uint64_t a = gpa, left = len; left;) {
		const struct memslot *s = memslot_lookup(set, a >> PAGE_SHIFT);
		uint64_t off = a - s->gpa;
		uint64_t n = MIN(left, PAGE_SIZE - (off & (PAGE_SIZE - 1)));
		uint8_t *host = (uint8_t *)phys_to_virt(memslot_gfn_to_hpa(s, a >> PAGE_SHIFT)) +
				(off & (PAGE_SIZE - 1));
		if (write)
			memcpy(host, p, n);
		else
			memcpy(p, host, n);
		p += n;
		a += n;
		left -= n;
	}
	return 0;
}

int memslot_read(const struct memslot_set *set, uint64_t gpa, void *buf, size_t len, char *why, size_t wlen)
{
	return copy_through(set, gpa, buf, len, false, false, why, wlen);
}

int memslot_write(const struct memslot_set *set, uint64_t gpa, const void *buf, size_t len, bool force,
		  char *why, size_t wlen)
{
	return copy_through(set, gpa, (void *)buf, len, true, force, why, wlen);
}

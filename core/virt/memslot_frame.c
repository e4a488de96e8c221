/*
 * The host pages behind memory slots, and the backings that list them.
 *
 * A frame is one page from the page allocator with a reference count: every
 * backing that lists it holds one.  A backing is the frames of one slot in
 * guest order, reference counted by the slot sets that hold it.  Split,
 * merge, resize and move build new backings out of the old frames, so the
 * guest's data stays where it is and nothing is copied.
 *
 * Counts are plain integers: only the updater, under the VM's slots lock,
 * takes and drops references (vigil/memslot.h).
 */
#include <vigil/memslot.h>
#include <vigil/mm.h>
#include <vigil/string.h>

static uint64_t frames_live;  /* allocated here, not yet freed (under the slots locks) */

uint64_t memslot_frames_live(void)
{
	return __atomic_load_n(&frames_live, __ATOMIC_RELAXED);
}

static struct memslot_frame *frame_new(uint64_t hpa, bool borrowed)
{
	struct memslot_frame *f = kmalloc(sizeof(*f));
	if (!f)
		return NULL;
	f->hpa = hpa;
	f->refs = 1;
	f->borrowed = borrowed;
	return f;
}

static struct memslot_frame *frame_alloc_zeroed(void)
{
	uint64_t hpa = pmm_alloc_page();
	if (!hpa)
		return NULL;
	struct memslot_frame *f = frame_new(hpa, false);
	if (!f) {
		pmm_free_page(hpa);
		return NULL;
	}
	memset(phys_to_virt(hpa), 0, PAGE_SIZE);
	__atomic_add_fetch(&frames_live, 1, __ATOMIC_RELAXED);
	return f;
}

static void frame_put(struct memslot_frame *f)
{
	if (--f->refs)
		return;
	if (!f->borrowed) {
		pmm_free_page(f->hpa);
		__atomic_sub_fetch(&frames_live, 1, __ATOMIC_RELAXED);
	}
	kfree(f);
}

struct memslot_frame *memslot_backing_replace(struct memslot_backing *b, uint64_t i, bool copy)
{
	struct memslot_frame *f = frame_alloc_zeroed();
	if (!f)
		return NULL;
	struct memslot_frame *old = b->frame[i];
	if (copy)
		memcpy(phys_to_virt(f->hpa), phys_to_virt(old->hpa), PAGE_SIZE);
	/* A reader in the VM's SRCU domain may still load the old pointer:
	 * store the new one whole. */
	__atomic_store_n(&b->frame[i], f, __ATOMIC_RELEASE);
	return old;
}

void memslot_frame_put(struct memslot_frame *f)
{
	frame_put(f);
}

static struct memslot_backing *backing_new(uint64_t npages)
{
	/* kmalloc's largest block bounds a slot (2^PMM_MAX_ORDER pages of frame
	 * pointers, 2 GiB of guest memory): beyond it this is "out of memory". */
	if (npages > (UINT64_MAX - sizeof(struct memslot_backing)) / sizeof(struct memslot_frame *))
		return NULL;
	struct memslot_backing *b = kmalloc(sizeof(*b) + npages * sizeof(b->frame[0]));
	if (!b)
		return NULL;
	b->refs = 1;
	b->npages = 0;  /* grows as frames are filled in, so a failure frees exactly those */
	return b;
}

struct memslot_backing *memslot_backing_alloc(uint64_t npages)
{
	return memslot_backing_slice(NULL, 0, 0, npages);
}

struct memslot_backing *memslot_backing_borrow(uint64_t hpa, uint64_t npages)
{
	struct memslot_backing *b = backing_new(npages);
	if (!b)
		return NULL;
	for (uint64_t i = 0; i < npages; i++) {
		struct memslot_frame *f = frame_new(hpa + i * PAGE_SIZE, true);
		if (!f) {
			memslot_backing_put(b);
			return NULL;
		}
		b->frame[b->npages++] = f;
	}
	return b;
}

struct memslot_backing *memslot_backing_slice(const struct memslot_backing *src, uint64_t first, uint64_t n,
					      uint64_t extra)
{
	if (n + extra < n)
		return NULL;
	struct memslot_backing *b = backing_new(n + extra);
	if (!b)
		return NULL;
	for (uint64_t i = 0; i < n; i++) {
		struct memslot_frame *f = src->frame[first + i];
		f->refs++;
		b->frame[b->npages++] = f;
	}
	for (uint64_t i = 0; i < extra; i++) {
		struct memslot_frame *f = frame_alloc_zeroed();
		if (!f) {
			memslot_backing_put(b);
			return NULL;
		}
		b->frame[b->npages++] = f;
	}
	return b;
}

struct memslot_backing *memslot_backing_concat(const struct memslot_backing *a, const struct memslot_backing *b)
{
	if (a->npages + b->npages < a->npages)
		return NULL;
	struct memslot_backing *c = backing_new(a->npages + b->npages);
	if (!c)
		return NULL;
	for (uint64_t i = 0; i < a->npages; i++) {
		a->frame[i]->refs++;
		c->frame[c->npages++] = a->frame[i];
	}
	for (uint64_t i = 0; i < b->npages; i++) {
		b->frame[i]->refs++;
		c->frame[c->npages++] = b->frame[i];
	}
	return c;
}

void memslot_backing_get(struct memslot_backing *b)
{
	b->refs++;
}

void memslot_backing_put(struct memslot_backing *b)
{
	if (!b || --b->refs)
		return;
	for (uint64_t i = 0; i < b->npages; i++)
		frame_put(b->frame[i]);
	kfree(b);
}

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
 *
 * The page behind a frame is another matter: host invalidation
 * (`vm mem migrate|reclaim`, docs/invalidation.md) moves it or takes it
 * away under the VM's MMU lock, without the slots lock, and every backing
 * that lists the frame sees the change.  A reclaimed frame keeps its
 * contents aside (none for a page of zeros) and gets a fresh page at the
 * next touch (memslot_frame_page()).
 */
#include <vigil/memslot.h>
#include <vigil/mm.h>
#include <vigil/string.h>

static uint64_t frames_live;   /* pages allocated here, not yet freed */
static uint64_t frames_saved;  /* frames not resident (reclaimed) */
static uint64_t faulted_back;  /* reclaimed pages faulted back in */

#define COUNT(var, d) __atomic_add_fetch(&(var), (uint64_t)(d), __ATOMIC_RELAXED)

uint64_t memslot_frames_live(void)
{
	return __atomic_load_n(&frames_live, __ATOMIC_RELAXED);
}

uint64_t memslot_frames_saved(void)
{
	return __atomic_load_n(&frames_saved, __ATOMIC_RELAXED);
}

uint64_t memslot_frames_faulted_back(void)
{
	return __atomic_load_n(&faulted_back, __ATOMIC_RELAXED);
}

static struct memslot_frame *frame_new(uint64_t hpa, bool borrowed)
{
	struct memslot_frame *f = kmalloc(sizeof(*f));
	if (!f)
		return NULL;
	f->hpa = hpa;
	f->refs = 1;
	f->borrowed = borrowed;
	f->saved = NULL;
	return f;
}

static uint64_t page_alloc_zeroed(void)
{
	uint64_t hpa = pmm_alloc_page();
	if (hpa) {
		memset(phys_to_virt(hpa), 0, PAGE_SIZE);
		COUNT(frames_live, 1);
	}
	return hpa;
}

static void page_free(uint64_t hpa)
{
	pmm_free_page(hpa);
	COUNT(frames_live, -1);
}

static struct memslot_frame *frame_alloc_zeroed(void)
{
	uint64_t hpa = page_alloc_zeroed();
	if (!hpa)
		return NULL;
	struct memslot_frame *f = frame_new(hpa, false);
	if (!f)
		page_free(hpa);
	return f;
}

static void frame_put(struct memslot_frame *f)
{
	if (--f->refs)
		return;
	if (!f->hpa) {
		kfree(f->saved);
		COUNT(frames_saved, -1);
	} else if (!f->borrowed) {
		page_free(f->hpa);
	}
	kfree(f);
}

/* Readers without the MMU lock (a vCPU's fault before it takes it, the
 * host tests' threads) load hpa whole. */
static void set_page(struct memslot_frame *f, uint64_t hpa, bool borrowed)
{
	f->borrowed = borrowed;
	__atomic_store_n(&f->hpa, hpa, __ATOMIC_RELEASE);
}

uint64_t memslot_frame_page(struct memslot_frame *f)
{
	uint64_t hpa = __atomic_load_n(&f->hpa, __ATOMIC_ACQUIRE);
	if (hpa)
		return hpa;
	/* Reclaimed: fault it back in with what it held. */
	hpa = page_alloc_zeroed();
	if (!hpa)
		return 0;
	if (f->saved)
		memcpy(phys_to_virt(hpa), f->saved, PAGE_SIZE);
	kfree(f->saved);
	f->saved = NULL;
	set_page(f, hpa, false);
	COUNT(frames_saved, -1);
	COUNT(faulted_back, 1);
	return hpa;
}

bool memslot_frame_migrate(struct memslot_frame *f, uint64_t new_hpa, struct memslot_retired *old)
{
	*old = (struct memslot_retired){ 0 };
	if (!f->hpa)
		return false;
	memcpy(phys_to_virt(new_hpa), phys_to_virt(f->hpa), PAGE_SIZE);
	*old = (struct memslot_retired){ .hpa = f->hpa, .borrowed = f->borrowed };
	/* The caller's page is ours now (it came from the page allocator). */
	COUNT(frames_live, 1);
	set_page(f, new_hpa, false);
	return true;
}

static bool page_is_zero(const void *p)
{
	const uint64_t *w = p;
	for (size_t i = 0; i < PAGE_SIZE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

bool memslot_frame_reclaim(struct memslot_frame *f, void **spare, struct memslot_retired *old)
{
	*old = (struct memslot_retired){ 0 };
	if (!f->hpa)
		return false;
	const void *page = phys_to_virt(f->hpa);
	if (!page_is_zero(page)) {
		memcpy(*spare, page, PAGE_SIZE);
		f->saved = *spare;
		*spare = NULL;
	}
	*old = (struct memslot_retired){ .hpa = f->hpa, .borrowed = f->borrowed };
	set_page(f, 0, false);
	COUNT(frames_saved, 1);
	return true;
}

void memslot_retired_free(struct memslot_retired *r)
{
	if (r->hpa && !r->borrowed)
		page_free(r->hpa);
	*r = (struct memslot_retired){ 0 };
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

/*
 * The kernel heap: kmalloc/kfree.
 *
 * Small sizes (16..2048 bytes, powers of two) come from slabs: a block of
 * pages from the page allocator with a header at its start and equal objects
 * after it.  Each class keeps a list of slabs that have a free object and at
 * most one completely empty slab in reserve; further empty slabs go back to
 * the page allocator.  Larger sizes are whole page blocks with no header.
 *
 * kfree() needs no size and no header in front of the object: the page
 * allocator finds the block an address lies in and who owns it
 * (pmm_find_block), and a slab's header sits at its block's start.  That also
 * rejects pointers kmalloc never returned.
 *
 * Misuse is caught, not survived: a free object holds a link, a magic word
 * tied to its own address, and poison bytes.  Freeing it again finds the
 * magic; a write after free is found when the object is handed out next and
 * its poison is not intact.  Both panic.
 */
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/spinlock.h>
#include <vigil/string.h>

#include "page_owner.h"

#define SLAB_MAGIC      0x42414c53u           /* "SLAB" */
#define FREE_MAGIC      0xf7eef7eef7eef7eeull /* xor'ed with the object's address */
#define POISON          0x6b
#define SLAB_HEADER     64                    /* keeps objects 16-byte aligned */

struct slab {
	uint32_t magic;
	uint16_t cls;     /* size class index */
	uint16_t nobjs;
	uint32_t inuse;
	uint32_t pad;
	struct slab *next, *prev; /* the class's list of slabs with a free object */
	void *free;       /* first free object */
};
_Static_assert(sizeof(struct slab) <= SLAB_HEADER, "slab header grew");

/* The start of every free object. */
struct free_obj {
	struct free_obj *next;
	uint64_t magic;   /* FREE_MAGIC ^ address of this object */
};

struct size_class {
	struct slab *partial; /* slabs with at least one free object */
	unsigned empty;       /* of those, how many have no object in use (0 or 1) */
};

/* The bare ticket lock of include/vigil/spinlock.h with interrupts off: an
 * interrupt handler on this CPU may allocate, and allocations happen before
 * there is a current task (so no raw_spin_lock() preemption count).  A leaf:
 * kmalloc() may be called under any other lock. */
static raw_spinlock_t heap_lock = RAW_SPIN_LOCK_UNLOCKED;
static struct size_class classes[KMALLOC_NR_CLASSES];
static struct kmalloc_stats stats;

static inline size_t class_size(unsigned cls)
{
	return (size_t)KMALLOC_MIN_SIZE << cls;
}

/* Slabs grow with the class so a slab always holds at least 15 objects
 * (2048-byte objects in 4 KiB would waste half of it on the header). */
static inline unsigned slab_order(unsigned cls)
{
	size_t want = class_size(cls) * 16;
	return want <= PAGE_SIZE ? 0 : pmm_order_for(want);
}

static inline uint64_t free_magic(const void *obj)
{
	return FREE_MAGIC ^ (uint64_t)(uintptr_t)obj;
}

static inline char *slab_objects(struct slab *s)
{
	return (char *)s + SLAB_HEADER;
}

static void list_add(struct size_class *c, struct slab *s)
{
	s->prev = NULL;
	s->next = c->partial;
	if (s->next)
		s->next->prev = s;
	c->partial = s;
}

static void list_del(struct size_class *c, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

/* Put obj on its slab's free list, poisoned. */
static void push_free(struct slab *s, void *obj)
{
	struct free_obj *f = obj;
	size_t size = class_size(s->cls);

	memset((char *)obj + sizeof(*f), POISON, size - sizeof(*f));
	f->next = s->free;
	f->magic = free_magic(obj);
	s->free = obj;
}

static struct slab *new_slab(unsigned cls)
{
	unsigned order = slab_order(cls);
	uint64_t phys = pmm_alloc_owned(order, PAGE_OWNER_HEAP_SLAB);
	struct slab *s;

	if (!phys)
		return NULL;
	s = phys_to_virt(phys);
	*s = (struct slab){ .magic = SLAB_MAGIC, .cls = (uint16_t)cls };
	s->nobjs = (uint16_t)(((PAGE_SIZE << order) - SLAB_HEADER) / class_size(cls));
	/* Push from the end so objects are handed out in address order. */
	for (unsigned i = s->nobjs; i-- > 0;)
		push_free(s, slab_objects(s) + (size_t)i * class_size(cls));
	stats.slab_pages += 1ull << order;
	return s;
}

static void free_slab(struct slab *s)
{
	unsigned order = slab_order(s->cls);

	s->magic = 0; /* a stale pointer into it must not find a slab */
	stats.slab_pages -= 1ull << order;
	pmm_free_owned(virt_to_phys(s), order, PAGE_OWNER_HEAP_SLAB);
}

static __noreturn void heap_panic(unsigned long flags, const char *what, const void *ptr)
{
	/* Unlock first: panic() must be able to print, and host tests recover
	 * from it. */
	__raw_spin_unlock_irqrestore(&heap_lock, flags);
	panic("kmalloc: %s (%p)", what, ptr);
}

static void *alloc_small(unsigned cls)
{
	struct size_class *c = &classes[cls];
	unsigned long flags;
	__raw_spin_lock_irqsave(&heap_lock, flags);
	struct slab *s = c->partial;
	struct free_obj *obj;

	if (!s) {
		s = new_slab(cls);
		if (!s) {
			__raw_spin_unlock_irqrestore(&heap_lock, flags);
			return NULL;
		}
		list_add(c, s);
		c->empty++;
	}

	obj = s->free;
	if (obj->magic != free_magic(obj))
		heap_panic(flags, "free object overwritten (use after free or overflow)", obj);
	for (size_t i = sizeof(*obj); i < class_size(cls); i++) {
		if (((unsigned char *)obj)[i] != POISON)
			heap_panic(flags, "write to a freed object (use after free)", (char *)obj + i);
	}
	if (obj->next && ((char *)obj->next < slab_objects(s) ||
			  (char *)obj->next >= slab_objects(s) + (size_t)s->nobjs * class_size(cls)))
		heap_panic(flags, "free list corrupted", obj);

	s->free = obj->next;
	obj->magic = 0; /* a live object must not look free */
	if (s->inuse++ == 0)
		c->empty--;
	if (!s->free)
		list_del(c, s);

	stats.objects_in_use++;
	stats.bytes_in_use += class_size(cls);
	stats.class_in_use[cls]++;
	stats.alloc_calls++;
	__raw_spin_unlock_irqrestore(&heap_lock, flags);
	return obj;
}

static void *alloc_large(size_t size)
{
	unsigned order = pmm_order_for(size);
	uint64_t phys;

	if (order > PMM_MAX_ORDER)
		return NULL;
	phys = pmm_alloc_owned(order, PAGE_OWNER_HEAP_LARGE);
	if (!phys)
		return NULL;

	unsigned long flags;
	__raw_spin_lock_irqsave(&heap_lock, flags);
	stats.objects_in_use++;
	stats.bytes_in_use += PAGE_SIZE << order;
	stats.large_pages += 1ull << order;
	stats.alloc_calls++;
	__raw_spin_unlock_irqrestore(&heap_lock, flags);
	return phys_to_virt(phys);
}

void *kmalloc(size_t size)
{
	unsigned cls = 0;

	if (size > KMALLOC_MAX_SMALL)
		return alloc_large(size);
	while (class_size(cls) < size)
		cls++;
	return alloc_small(cls);
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

/* What kfree and ksize learn about a pointer (at physical address phys);
 * panics (after unlocking) when it is not something kmalloc returned.  Called
 * with heap_lock held. */
struct block {
	struct slab *slab;  /* NULL for a large block */
	uint64_t phys;      /* large: block start */
	unsigned order;     /* large: block order */
};

static struct block lookup(unsigned long flags, const void *ptr, uint64_t phys)
{
	struct block b = { 0 };
	enum page_owner owner;
	uint64_t start;

	if (!pmm_find_block(phys, &start, &b.order, &owner))
		heap_panic(flags, "pointer is not allocated (double free or wild pointer)", ptr);
	if (owner == PAGE_OWNER_HEAP_LARGE) {
		if (ptr != phys_to_virt(start))
			heap_panic(flags, "pointer into the middle of a large block", ptr);
		b.phys = start;
		return b;
	}
	if (owner != PAGE_OWNER_HEAP_SLAB)
		heap_panic(flags, "pointer to pages from pmm_alloc_pages, not kmalloc", ptr);

	struct slab *s = phys_to_virt(start);
	if (s->magic != SLAB_MAGIC)
		heap_panic(flags, "slab header corrupted", ptr);
	size_t off = (size_t)((const char *)ptr - slab_objects(s));
	if ((const char *)ptr < slab_objects(s) || off % class_size(s->cls) ||
	    off / class_size(s->cls) >= s->nobjs)
		heap_panic(flags, "pointer is not the start of an object", ptr);
	b.slab = s;
	return b;
}

void kfree(const void *ptr)
{
	unsigned long flags;
	struct block b;
	uint64_t phys;

	if (!ptr)
		return;
	phys = virt_to_phys(ptr); /* may panic: not under the lock */
	__raw_spin_lock_irqsave(&heap_lock, flags);
	b = lookup(flags, ptr, phys);

	if (!b.slab) {
		stats.objects_in_use--;
		stats.free_calls++;
		stats.bytes_in_use -= PAGE_SIZE << b.order;
		stats.large_pages -= 1ull << b.order;
		__raw_spin_unlock_irqrestore(&heap_lock, flags);
		pmm_free_owned(b.phys, b.order, PAGE_OWNER_HEAP_LARGE);
		return;
	}

	struct slab *s = b.slab;
	struct size_class *c = &classes[s->cls];
	void *obj = (void *)(uintptr_t)ptr;

	if (((const struct free_obj *)obj)->magic == free_magic(obj))
		heap_panic(flags, "double free", ptr);
	stats.objects_in_use--;
	stats.free_calls++;
	stats.bytes_in_use -= class_size(s->cls);
	stats.class_in_use[s->cls]--;

	if (!s->free)
		list_add(c, s); /* was full */
	push_free(s, obj);
	if (--s->inuse == 0) {
		/* Keep one empty slab per class so alloc/free at the boundary
		 * does not bounce pages to and from the page allocator. */
		if (c->empty) {
			list_del(c, s);
			free_slab(s);
		} else {
			c->empty++;
		}
	}
	__raw_spin_unlock_irqrestore(&heap_lock, flags);
}

size_t ksize(const void *ptr)
{
	unsigned long flags;
	struct block b;
	size_t size;
	uint64_t phys;

	if (!ptr)
		return 0;
	phys = virt_to_phys(ptr);
	__raw_spin_lock_irqsave(&heap_lock, flags);
	b = lookup(flags, ptr, phys);
	size = b.slab ? class_size(b.slab->cls) : PAGE_SIZE << b.order;
	__raw_spin_unlock_irqrestore(&heap_lock, flags);
	return size;
}

void *krealloc(void *ptr, size_t size)
{
	size_t old;
	void *p;

	if (!ptr)
		return kmalloc(size);
	if (!size) {
		kfree(ptr);
		return NULL;
	}
	old = ksize(ptr);
	if (size <= old)
		return ptr;
	p = kmalloc(size);
	if (!p)
		return NULL;
	memcpy(p, ptr, old);
	kfree(ptr);
	return p;
}

void kmalloc_stats(struct kmalloc_stats *st)
{
	unsigned long flags;
	__raw_spin_lock_irqsave(&heap_lock, flags);

	*st = stats;
	__raw_spin_unlock_irqrestore(&heap_lock, flags);
}

#ifdef VIGIL_HOST
void kmalloc_host_reset(void)
{
	raw_spin_lock_init(&heap_lock); /* a failed test may have left it held */
	memset(classes, 0, sizeof(classes));
	memset(&stats, 0, sizeof(stats));
}
#endif

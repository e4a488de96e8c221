/*
 * A VM's memory slots: its slot-set pair, the slots lock every updater
 * holds, and the way the console finds them by VM id.
 *
 * vm_create builds the pair with the VM's existing guest memory as slot 0:
 * its pages are borrowed (the VM frees them itself), so `vm mem` reads the
 * guest's code and data there.  The backends still map that memory when the
 * VM is built; the slots become what the nested page tables are built from
 * once faults map on demand (docs/design.md, "Memory slots").
 *
 * Lifetime: a lookup finds the VM under vm_list_lock and takes a use of its
 * slots; vm_destroy unlinks the VM first, so no new use can start, then
 * vm_memslots_free waits for the uses under way before freeing anything.
 */
#include <vigil/cmdline.h>
#include <vigil/completion.h>
#include <vigil/memslot.h>
#include <vigil/mm.h>
#include <vigil/mutex.h>
#include <vigil/spinlock.h>
#include <vigil/string.h>
#include <vigil/virt.h>
#include "virt_internal.h"

struct vm_memslots {
	struct mutex lock;         /* the slots lock: one updater at a time */
	struct memslot_pair pair;
	unsigned users;            /* lookups under way (under uses_lock) */
	bool waiting;              /* vm_memslots_free waits for users == 0 */
	struct completion unused;
};

static DEFINE_SPINLOCK(uses_lock);

/* memslot_update=naive: every VM publishes its slot changes as deletes then
 * adds, without inhibition (memslot_pair.c), so a test can show the gap. */
BOOT_PARAM_CHOICE(memslot_update, "atomic|naive");

static bool naive_updates(void)
{
	return !strcmp(boot_params()->memslot_update, "naive");
}

static unsigned clamp_bits(unsigned bits)
{
	return MIN(MAX(bits, MEMSLOT_GPA_BITS_MIN), MEMSLOT_GPA_BITS_MAX);
}

int vm_memslots_init(struct vm *vm, char *why, size_t len)
{
	struct vm_memslots *ms = kzalloc(sizeof(*ms));
	if (!ms)
		return why_fail(why, len, WHY_NOMEM, "out of memory for the VM's slots");
	mutex_init(&ms->lock);
	init_completion(&ms->unused);
	int r = memslot_pair_init(&ms->pair, clamp_bits(arch_virt_gpa_bits()), why, len);
	if (r) {
		kfree(ms);
		return r;
	}
	/* The memory the VM was built with, as slots at the same places. */
	struct memslot_set *set = ms->pair.active;
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++) {
		const struct vm_slot *s = &vm->slots[i];
		if (!s->used)
			continue;
		struct memslot m = { .id = set->nr, .gpa = s->gpa, .size = s->size };
		m.backing = NULL;
		if (memslot_set_reserve(set, set->nr + 1) == 0 && memslot_set_reserve(ms->pair.inactive, set->nr + 1) == 0)
			m.backing = memslot_backing_borrow(s->hpa, s->size >> PAGE_SHIFT);
		if (!m.backing) {
			memslot_pair_destroy(&ms->pair);
			kfree(ms);
			return why_fail(why, len, WHY_NOMEM, "out of memory for the VM's slots");
		}
		unsigned at = memslot_lower_bound(set, m.gpa);
		memmove(&set->slot[at + 1], &set->slot[at], (set->nr - at) * sizeof(set->slot[0]));
		set->slot[at] = m;
		set->nr++;
	}
	memslot_set_copy(ms->pair.inactive, set);
	ms->pair.naive = naive_updates();
	vm->memslots = ms;
	return 0;
}

void vm_memslots_free(struct vm *vm)
{
	struct vm_memslots *ms = vm->memslots;
	if (!ms)
		return;
	unsigned long flags;
	spin_lock_irqsave(&uses_lock, flags);
	bool wait = ms->users != 0;
	ms->waiting = wait;
	spin_unlock_irqrestore(&uses_lock, flags);
	if (wait)
		wait_for_completion(&ms->unused);
	memslot_pair_destroy(&ms->pair);
	kfree(ms);
	vm->memslots = NULL;
}

struct memslot_pair *vm_memslot_pair(struct vm *vm)
{
	return &vm->memslots->pair;
}

struct mutex *vm_memslot_lock(struct vm *vm)
{
	return &vm->memslots->lock;
}

struct lookup {
	unsigned id;
	struct vm_memslots *ms;
	bool found;
};

static void match(const struct vm *vm, void *arg)
{
	struct lookup *q = arg;
	if (vm->id != q->id || !vm->memslots)
		return;
	q->found = true;
	q->ms = vm->memslots;
	unsigned long flags;
	spin_lock_irqsave(&uses_lock, flags);
	q->ms->users++;
	spin_unlock_irqrestore(&uses_lock, flags);
}

static struct vm_memslots *get(unsigned vm_id, char *why, size_t len, int *r)
{
	struct lookup q = { .id = vm_id };
	vm_for_each(match, &q);
	if (!q.ms)
		*r = why_fail(why, len, WHY_NO_VM, "no VM with id %u (try 'vm list')", vm_id);
	return q.ms;
}

static void put(struct vm_memslots *ms)
{
	unsigned long flags;
	spin_lock_irqsave(&uses_lock, flags);
	bool last = --ms->users == 0 && ms->waiting;
	spin_unlock_irqrestore(&uses_lock, flags);
	if (last)
		complete(&ms->unused);
}

int vm_slot_update(unsigned vm_id, const struct memslot_txn *txn, struct memslot_txn_result *res, char *why,
		   size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	mutex_lock(&ms->lock);
	r = memslot_pair_update(&ms->pair, txn, res, why, len);
	mutex_unlock(&ms->lock);
	put(ms);
	return r;
}

int vm_slot_for_each(unsigned vm_id, void (*fn)(const struct memslot *s, void *arg), void *arg, char *why,
		     size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	mutex_lock(&ms->lock);
	const struct memslot_set *set = memslot_pair_active(&ms->pair);
	for (unsigned i = 0; i < set->nr; i++)
		fn(&set->slot[i], arg);
	mutex_unlock(&ms->lock);
	put(ms);
	return 0;
}

int vm_mem_access(unsigned vm_id, uint64_t gpa, void *buf, size_t n, bool write, char *why, size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	/* Under the slots lock: no update frees a frame while it is read. */
	mutex_lock(&ms->lock);
	const struct memslot_set *set = memslot_pair_active(&ms->pair);
	/* The host writes read-only slots too (as it loads a guest's code). */
	r = write ? memslot_write(set, gpa, buf, n, true, why, len) : memslot_read(set, gpa, buf, n, why, len);
	mutex_unlock(&ms->lock);
	put(ms);
	return r;
}

int vm_slot_set_hooks(unsigned vm_id, void (*wait_readers)(void *arg), void (*inhibit)(void *arg, bool on),
		      void *arg, char *why, size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	mutex_lock(&ms->lock);
	ms->pair.wait_readers = wait_readers;
	ms->pair.inhibit = inhibit;
	ms->pair.arg = arg;
	mutex_unlock(&ms->lock);
	put(ms);
	return 0;
}

int vm_slot_stats(unsigned vm_id, uint64_t *updates, uint64_t *inhibited, bool *naive, char *why, size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	mutex_lock(&ms->lock);
	*updates = ms->pair.updates;
	*inhibited = ms->pair.inhibited;
	*naive = ms->pair.naive;
	mutex_unlock(&ms->lock);
	put(ms);
	return 0;
}

/*
 * The two slot sets of a VM and the publish step.
 *
 * Readers (vCPUs resolving a nested page fault, `vm mem`) only ever look at
 * the active set.  An update, under the VM's slots lock:
 *   1. applies the transaction to the inactive set, an exact copy of the
 *      active one; on a refusal copies the active set back over it, so
 *      nothing changed;
 *   2. when a deleted range overlaps an added one, inhibits vCPU entries;
 *   3. swaps the active pointer (one release store: a reader sees the old
 *      set or the new one, never a half-done change);
 *   4. waits until no reader can still be looking at the old set
 *      (wait_readers: an SRCU grace period), and releases the inhibition;
 *   5. brings the old set up to date by copying the new one into it, which
 *      drops the references that only the old set held -- frames no slot
 *      uses any more go back to the page allocator only here, after every
 *      reader is gone.
 * The naive mode (p->naive) publishes the deletes and the adds as two
 * steps instead, never inhibiting: what atomic updates prevent, on demand.
 */
#include <vigil/memslot.h>
#include <vigil/mm.h>

int memslot_pair_init(struct memslot_pair *p, unsigned gpa_bits, char *why, size_t len)
{
	p->active = memslot_set_alloc(gpa_bits);
	p->inactive = memslot_set_alloc(gpa_bits);
	p->updates = p->inhibited = 0;
	p->wait_readers = NULL;
	p->inhibit = NULL;
	p->changed = NULL;
	p->arg = NULL;
	p->naive = false;
	if (!p->active || !p->inactive) {
		memslot_set_free(p->active);
		memslot_set_free(p->inactive);
		p->active = p->inactive = NULL;
		return why_fail(why, len, WHY_NOMEM, "out of memory for the slot sets");
	}
	return 0;
}

void memslot_pair_destroy(struct memslot_pair *p)
{
	memslot_set_free(p->active);
	memslot_set_free(p->inactive);
	p->active = p->inactive = NULL;
}

/* Make set the active one and wait until no reader sees the one it replaces. */
static void publish(struct memslot_pair *p, struct memslot_set *set)
{
	struct memslot_set *before = p->active;
	if (p->swap)
		p->swap(p->arg, set);
	else
		__atomic_store_n(&p->active, set, __ATOMIC_RELEASE);
	if (p->changed)
		p->changed(p->arg, before, set);
	if (p->wait_readers)
		p->wait_readers(p->arg);
}

/* The naive update: publish the old set without what the transaction
 * deletes or changes, then the new set.  Needs a third set for the middle
 * step; -WHY_NOMEM (nothing published) without one. */
static int publish_naive(struct memslot_pair *p, struct memslot_set *old, struct memslot_set *new, char *why,
			 size_t len)
{
	struct memslot_set *mid = memslot_set_alloc(old->gpa_bits);
	if (!mid || memslot_set_reserve(mid, old->nr)) {
		memslot_set_free(mid);
		return why_fail(why, len, WHY_NOMEM, "out of memory for the middle step of a naive update");
	}
	for (unsigned i = 0; i < old->nr; i++)
		if (memslot_kept(&old->slot[i], new)) {
			memslot_backing_get(old->slot[i].backing);
			mid->slot[mid->nr++] = old->slot[i];
		}
	mid->generation = old->generation;
	publish(p, mid);
	publish(p, new);
	memslot_set_free(mid);
	return 0;
}

int memslot_pair_update(struct memslot_pair *p, const struct memslot_txn *txn, struct memslot_txn_result *res,
			char *why, size_t len)
{
	struct memslot_set *old = p->active, *new = p->inactive;
	int r = memslot_txn_apply(new, txn, why, len);
	if (r) {
		memslot_set_copy(new, old);
		return r;
	}
	/* Step 5 copies new into old, which cannot fail after the swap: get
	 * the room first.  But old is the active set until the swap, and its
	 * readers search old->slot until the wait is over, so the bigger array
	 * replaces it only then (growing old here would free the array under
	 * them).  (new always has room for old: it was a copy of it.) */
	struct memslot *room = NULL;
	unsigned room_cap = 0;
	if (new->nr > old->cap) {
		room_cap = new->cap;
		room = kmalloc(room_cap * sizeof(*room));
		if (!room) {
			memslot_set_copy(new, old);
			return why_fail(why, len, WHY_NOMEM, "out of memory for %u slots", new->nr);
		}
	}
	struct memslot_txn_result local;
	if (!res)
		res = &local;
	memslot_diff(old, new, res);
	if (p->naive) {
		r = publish_naive(p, old, new, why, len);
		if (r) {
			kfree(room);
			memslot_set_copy(new, old);
			return r;
		}
	} else {
		if (res->inhibit && p->inhibit)
			p->inhibit(p->arg, true);
		publish(p, new);
		if (res->inhibit && p->inhibit)
			p->inhibit(p->arg, false);
		p->inhibited += res->inhibit;
	}
	p->inactive = old;
	if (room) {
		/* No reader sees old any more.  Its references go first: new
		 * holds its own on every backing the two share. */
		memslot_set_clear(old);
		kfree(old->slot);
		old->slot = room;
		old->cap = room_cap;
	}
	memslot_set_copy(old, new);
	p->updates++;
	return 0;
}

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
 */
#include <vigil/memslot.h>

int memslot_pair_init(struct memslot_pair *p, unsigned gpa_bits, char *why, size_t len)
{
	p->active = memslot_set_alloc(gpa_bits);
	p->inactive = memslot_set_alloc(gpa_bits);
	p->updates = p->inhibited = 0;
	p->wait_readers = NULL;
	p->inhibit = NULL;
	p->arg = NULL;
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

int memslot_pair_update(struct memslot_pair *p, const struct memslot_txn *txn, struct memslot_txn_result *res,
			char *why, size_t len)
{
	struct memslot_set *old = p->active, *new = p->inactive;
	int r = memslot_txn_apply(new, txn, why, len);
	if (r) {
		memslot_set_copy(new, old);
		return r;
	}
	struct memslot_txn_result local;
	if (!res)
		res = &local;
	memslot_diff(old, new, res);
	if (res->inhibit && p->inhibit)
		p->inhibit(p->arg, true);
	__atomic_store_n(&p->active, new, __ATOMIC_RELEASE);
	p->inactive = old;
	if (p->wait_readers)
		p->wait_readers(p->arg);
	if (res->inhibit && p->inhibit)
		p->inhibit(p->arg, false);
	memslot_set_copy(old, new);
	p->updates++;
	p->inhibited += res->inhibit;
	return 0;
}

/*
 * Slot transactions: a list of changes (add, del, move, resize, split,
 * merge) applied one after the other to a copy of a VM's slot set, so that
 * the set a reader can see goes from before the first change to after the
 * last in one step (memslot_pair.c publishes it).  Every change is checked
 * against the set as the earlier changes of the same transaction left it;
 * the first refusal fails the whole transaction and the caller throws the
 * copy away.
 *
 * Then memslot_diff() compares the old and the new set: a slot is kept
 * when its id, range, flags and backing are all the same, otherwise it
 * counts as deleted (old) and added (new).  Only a deleted range that
 * overlaps an added one needs vCPUs held out of the guest while the change
 * reaches the hardware: a vCPU there would otherwise find the range
 * without a slot for a moment and take a spurious MMIO exit.  Unrelated
 * adds and deletes never do (docs/design.md, "Memory slots").
 */
#include <vigil/memslot.h>
#include <vigil/mm.h>
#include <vigil/string.h>

static const char *const op_names[] = {
	[MEMSLOT_ADD] = "add", [MEMSLOT_DEL] = "del", [MEMSLOT_MOVE] = "move",
	[MEMSLOT_RESIZE] = "resize", [MEMSLOT_SPLIT] = "split", [MEMSLOT_MERGE] = "merge",
};

static uint64_t slot_end(const struct memslot *s)
{
	return s->gpa + s->size;
}

/* The lowest id no slot has (there is one when nr < MEMSLOT_MAX). */
static unsigned free_id(const struct memslot_set *set)
{
	uint64_t used[MEMSLOT_MAX / 64] = { 0 };
	for (unsigned i = 0; i < set->nr; i++)
		used[set->slot[i].id / 64] |= 1ull << (set->slot[i].id % 64);
	for (unsigned w = 0; w < ARRAY_SIZE(used); w++)
		if (~used[w])
			return w * 64 + (unsigned)__builtin_ctzll(~used[w]);
	return MEMSLOT_MAX;
}

static void remove_at(struct memslot_set *set, unsigned idx)
{
	memmove(&set->slot[idx], &set->slot[idx + 1], (set->nr - idx - 1) * sizeof(set->slot[0]));
	set->nr--;
}

/* Insert s where its gpa sorts it (the caller checked it overlaps nothing
 * and that there is room). */
static void insert(struct memslot_set *set, const struct memslot *s)
{
	unsigned idx = memslot_lower_bound(set, s->gpa);
	memmove(&set->slot[idx + 1], &set->slot[idx], (set->nr - idx) * sizeof(set->slot[0]));
	set->slot[idx] = *s;
	set->nr++;
}

static int check_size(uint64_t size, char *why, size_t len)
{
	if (size == 0)
		return why_fail(why, len, WHY_ZERO_SIZE, "zero size: a slot holds at least one page");
	if (!IS_ALIGNED(size, PAGE_SIZE))
		return why_fail(why, len, WHY_MISALIGNED, "misaligned: size 0x%lx is not a multiple of 0x%lx",
				(unsigned long)size, (unsigned long)PAGE_SIZE);
	return 0;
}

/* [gpa, gpa+size) as a place for a slot: aligned, within the address width
 * and overlapping no slot but the one with id ignore (the slot being moved
 * or resized; MEMSLOT_MAX for none). */
static int check_range(const struct memslot_set *set, uint64_t gpa, uint64_t size, unsigned ignore, char *why,
		       size_t len)
{
	int r = check_size(size, why, len);
	if (r)
		return r;
	if (!IS_ALIGNED(gpa, PAGE_SIZE))
		return why_fail(why, len, WHY_MISALIGNED, "misaligned: gpa 0x%lx is not a multiple of 0x%lx",
				(unsigned long)gpa, (unsigned long)PAGE_SIZE);
	uint64_t limit = 1ull << set->gpa_bits;
	if (size > limit || gpa > limit - size)
		return why_fail(why, len, WHY_ADDR_WIDTH,
				"beyond the guest-physical address width: gpa 0x%lx size 0x%lx ends above 0x%lx "
				"(%u bits)", (unsigned long)gpa, (unsigned long)size, (unsigned long)limit,
				set->gpa_bits);
	for (unsigned i = memslot_lower_bound(set, gpa); i < set->nr && set->slot[i].gpa < gpa + size; i++) {
		const struct memslot *s = &set->slot[i];
		if (s->id == ignore)
			continue;
		return why_fail(why, len, WHY_OVERLAP, "overlap: gpa 0x%lx size 0x%lx overlaps slot %u "
				"(gpa 0x%lx size 0x%lx)", (unsigned long)gpa, (unsigned long)size, s->id,
				(unsigned long)s->gpa, (unsigned long)s->size);
	}
	return 0;
}

static struct memslot *find(const struct memslot_set *set, unsigned id, unsigned *idx, char *why, size_t len,
			    int *r)
{
	struct memslot *s = memslot_by_id(set, id, idx);
	if (!s)
		*r = why_fail(why, len, WHY_NO_SLOT, "no slot %u", id);
	return s;
}

static int too_many(char *why, size_t len)
{
	return why_fail(why, len, WHY_TOO_MANY, "too many slots: a VM holds at most %u", MEMSLOT_MAX);
}

static int nomem(uint64_t size, char *why, size_t len)
{
	return why_fail(why, len, WHY_NOMEM, "out of memory for 0x%lx bytes of slot backing", (unsigned long)size);
}

/* Room for one more slot: too many, or out of memory for the array. */
static int room(struct memslot_set *set, char *why, size_t len)
{
	if (set->nr >= MEMSLOT_MAX)
		return too_many(why, len);
	if (memslot_set_reserve(set, set->nr + 1))
		return why_fail(why, len, WHY_NOMEM, "out of memory for %u slots", set->nr + 1);
	return 0;
}

static int do_add(struct memslot_set *set, const struct memslot_change *c, char *why, size_t len)
{
	int r = check_range(set, c->gpa, c->size, MEMSLOT_MAX, why, len);
	if (r)
		return r;
	r = room(set, why, len);
	if (r)
		return r;
	struct memslot s = { .id = free_id(set), .flags = c->flags & MEMSLOT_RO, .gpa = c->gpa, .size = c->size };
	s.backing = memslot_backing_alloc(c->size >> PAGE_SHIFT);
	if (!s.backing)
		return nomem(c->size, why, len);
	insert(set, &s);
	return 0;
}

static int do_del(struct memslot_set *set, const struct memslot_change *c, char *why, size_t len)
{
	int r = 0;
	unsigned idx;
	struct memslot *s = find(set, c->slot, &idx, why, len, &r);
	if (!s)
		return r;
	memslot_backing_put(s->backing);
	remove_at(set, idx);
	return 0;
}

static int do_move(struct memslot_set *set, const struct memslot_change *c, char *why, size_t len)
{
	int r = 0;
	unsigned idx;
	struct memslot *s = find(set, c->slot, &idx, why, len, &r);
	if (!s)
		return r;
	r = check_range(set, c->gpa, s->size, s->id, why, len);
	if (r)
		return r;
	/* Same backing, same reference: only its place changes. */
	struct memslot moved = *s;
	moved.gpa = c->gpa;
	remove_at(set, idx);
	insert(set, &moved);
	return 0;
}

static int do_resize(struct memslot_set *set, const struct memslot_change *c, char *why, size_t len)
{
	int r = 0;
	struct memslot *s = find(set, c->slot, NULL, why, len, &r);
	if (!s)
		return r;
	r = check_range(set, s->gpa, c->size, s->id, why, len);
	if (r)
		return r;
	uint64_t old_pages = s->size >> PAGE_SHIFT, new_pages = c->size >> PAGE_SHIFT;
	uint64_t keep = MIN(old_pages, new_pages);
	struct memslot_backing *b = memslot_backing_slice(s->backing, 0, keep, new_pages - keep);
	if (!b)
		return nomem(c->size, why, len);
	memslot_backing_put(s->backing);
	s->backing = b;
	s->size = c->size;
	return 0;
}

static int do_split(struct memslot_set *set, const struct memslot_change *c, char *why, size_t len)
{
	int r = 0;
	unsigned idx;
	struct memslot *s = find(set, c->slot, &idx, why, len, &r);
	if (!s)
		return r;
	if (!IS_ALIGNED(c->gpa, PAGE_SIZE))
		return why_fail(why, len, WHY_MISALIGNED, "misaligned: at=0x%lx is not a multiple of 0x%lx",
				(unsigned long)c->gpa, (unsigned long)PAGE_SIZE);
	if (c->gpa <= s->gpa || c->gpa >= slot_end(s))
		return why_fail(why, len, WHY_BAD_CHANGE, "at=0x%lx is not inside slot %u (gpa 0x%lx size 0x%lx)",
				(unsigned long)c->gpa, s->id, (unsigned long)s->gpa, (unsigned long)s->size);
	r = room(set, why, len);
	if (r)
		return r;
	s = memslot_by_id(set, c->slot, &idx);  /* the array may have moved */
	uint64_t low = (c->gpa - s->gpa) >> PAGE_SHIFT, pages = s->size >> PAGE_SHIFT;
	struct memslot_backing *lo = memslot_backing_slice(s->backing, 0, low, 0);
	struct memslot_backing *hi = lo ? memslot_backing_slice(s->backing, low, pages - low, 0) : NULL;
	if (!hi) {
		memslot_backing_put(lo);
		return nomem(s->size, why, len);
	}
	struct memslot upper = { .id = free_id(set), .flags = s->flags, .gpa = c->gpa, .size = slot_end(s) - c->gpa,
				 .backing = hi };
	memslot_backing_put(s->backing);
	s->backing = lo;
	s->size = c->gpa - s->gpa;
	insert(set, &upper);
	return 0;
}

static int do_merge(struct memslot_set *set, const struct memslot_change *c, char *why, size_t len)
{
	int r = 0;
	struct memslot *a = find(set, c->slot, NULL, why, len, &r);
	if (!a)
		return r;
	struct memslot *b = find(set, c->slot2, NULL, why, len, &r);
	if (!b)
		return r;
	if (a == b)
		return why_fail(why, len, WHY_BAD_CHANGE, "cannot merge slot %u with itself", a->id);
	const struct memslot *lo = a->gpa < b->gpa ? a : b, *hi = a->gpa < b->gpa ? b : a;
	if (slot_end(lo) != hi->gpa)
		return why_fail(why, len, WHY_BAD_CHANGE, "slots %u and %u are not adjacent (slot %u ends at 0x%lx, "
				"slot %u starts at 0x%lx)", a->id, b->id, lo->id, (unsigned long)slot_end(lo), hi->id,
				(unsigned long)hi->gpa);
	if (a->flags != b->flags)
		return why_fail(why, len, WHY_BAD_CHANGE, "slots %u and %u have different flags", a->id, b->id);
	struct memslot m = { .id = a->id, .flags = a->flags, .gpa = lo->gpa, .size = lo->size + hi->size };
	m.backing = memslot_backing_concat(lo->backing, hi->backing);
	if (!m.backing)
		return nomem(m.size, why, len);
	unsigned ia, ib;
	memslot_by_id(set, c->slot, &ia);
	memslot_by_id(set, c->slot2, &ib);
	memslot_backing_put(set->slot[ia].backing);
	memslot_backing_put(set->slot[ib].backing);
	remove_at(set, MAX(ia, ib));
	remove_at(set, MIN(ia, ib));
	insert(set, &m);
	return 0;
}

static int (*const op_fn[])(struct memslot_set *, const struct memslot_change *, char *, size_t) = {
	[MEMSLOT_ADD] = do_add, [MEMSLOT_DEL] = do_del, [MEMSLOT_MOVE] = do_move,
	[MEMSLOT_RESIZE] = do_resize, [MEMSLOT_SPLIT] = do_split, [MEMSLOT_MERGE] = do_merge,
};

int memslot_txn_apply(struct memslot_set *set, const struct memslot_txn *txn, char *why, size_t len)
{
	if (txn->n == 0)
		return why_fail(why, len, WHY_BAD_CHANGE, "empty transaction");
	for (unsigned k = 0; k < txn->n; k++) {
		const struct memslot_change *c = &txn->c[k];
		if ((unsigned)c->op >= ARRAY_SIZE(op_fn))
			return why_fail(why, len, WHY_BAD_CHANGE, "change %u: unknown operation", k + 1);
		char inner[WHY_MAX];
		int r = op_fn[c->op](set, c, inner, sizeof(inner));
		if (r) {
			/* The cause stays; the text says which change when there are several. */
			if (txn->n > 1)
				return why_fail(why, len, why_cause(r), "change %u (%s): %s", k + 1, op_names[c->op], inner);
			return why_fail(why, len, why_cause(r), "%s", inner);
		}
	}
	set->generation++;
	return 0;
}

bool memslot_kept(const struct memslot *s, const struct memslot_set *other)
{
	unsigned j = memslot_lower_bound(other, s->gpa);
	if (j >= other->nr)
		return false;
	const struct memslot *o = &other->slot[j];
	return o->gpa == s->gpa && o->id == s->id && o->size == s->size && o->flags == s->flags &&
	       o->backing == s->backing;
}

void memslot_diff(const struct memslot_set *old, const struct memslot_set *new, struct memslot_txn_result *res)
{
	memset(res, 0, sizeof(*res));
	/* Both sets are sorted and disjoint, so are their changed subsets: one
	 * sweep over the two finds whether any deleted range meets an added one. */
	unsigned i = 0, j = 0;
	for (;;) {
		while (i < old->nr && memslot_kept(&old->slot[i], new))
			i++;
		while (j < new->nr && memslot_kept(&new->slot[j], old))
			j++;
		if (i >= old->nr || j >= new->nr)
			break;
		const struct memslot *d = &old->slot[i], *a = &new->slot[j];
		if (slot_end(d) <= a->gpa)
			i++;
		else if (slot_end(a) <= d->gpa)
			j++;
		else {
			res->inhibit = true;
			break;
		}
	}
	for (i = 0; i < old->nr; i++)
		res->deleted += !memslot_kept(&old->slot[i], new);
	for (j = 0; j < new->nr; j++)
		if (!memslot_kept(&new->slot[j], old)) {
			res->added++;
			res->added_ids[new->slot[j].id / 64] |= 1ull << (new->slot[j].id % 64);
		}
}

void memslot_for_each_change(const struct memslot_set *before, const struct memslot_set *after,
			     void (*fn)(const struct memslot *s, bool added, void *arg), void *arg)
{
	for (unsigned i = 0; i < before->nr; i++)
		if (!memslot_kept(&before->slot[i], after))
			fn(&before->slot[i], false, arg);
	for (unsigned j = 0; j < after->nr; j++)
		if (!memslot_kept(&after->slot[j], before))
			fn(&after->slot[j], true, arg);
}

unsigned memslot_txn_other_added(const struct memslot_txn_result *res, unsigned slot)
{
	for (unsigned id = 0; id < MEMSLOT_MAX; id++)
		if (id != slot && (res->added_ids[id / 64] & (1ull << (id % 64))))
			return id;
	return MEMSLOT_MAX;
}

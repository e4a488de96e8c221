/*
 * The fake VM of core/virt/mmu_inval_fakevm.h: guest memory as two arrays of
 * numbers, the invalidation protocol's callbacks over them, and migrations,
 * faults and swaps built from the real protocol calls.
 */
#include <vigil/string.h>

#include "mmu_inval_fakevm.h"

/* Different gfns, so a start and an end that saw different arrays disagree
 * about whether a range hits guest memory (the imbalance the count
 * prevents): [64, 96) is memory in a only, [96, 128) in b only. */
const struct fakevm_slots fakevm_slots_a = { 2, { { 0, 64 }, { 64, 32 } } };
const struct fakevm_slots fakevm_slots_b = { 2, { { 0, 64 }, { 96, 32 } } };

bool fakevm_slots_cover(const struct fakevm_slots *s, uint64_t gfn)
{
	for (unsigned i = 0; i < s->n; i++)
		if (gfn >= s->s[i].base && gfn < s->s[i].base + s->s[i].npages)
			return true;
	return false;
}

static bool range_hits(void *ctx, const void *slots, uint64_t start, uint64_t end)
{
	const struct fakevm_slots *s = slots;
	(void)ctx;
	for (unsigned i = 0; i < s->n; i++)
		if (start < s->s[i].base + s->s[i].npages && s->s[i].base < end)
			return true;
	return false;
}

static void zap(void *ctx, const void *slots, uint64_t start, uint64_t end)
{
	struct fakevm *vm = ctx;
	(void)slots;
	for (uint64_t g = start; g < end && g < FAKEVM_GFNS; g++) {
		if (vm->spte[g]) {
			vm->spte[g] = 0;
			vm->zaps++;
		}
	}
}

static const struct mmu_invalidate_ops fakevm_ops = { .range_hits = range_hits, .zap = zap };

void fakevm_init(struct fakevm *vm, enum mmu_inval_mode mode, const char *name)
{
	memset(vm, 0, sizeof(*vm));
	strlcpy(vm->name, name, sizeof(vm->name));
	spin_lock_init(&vm->mmu_lock);
	for (unsigned g = 0; g < FAKEVM_GFNS; g++)
		vm->backing[g] = g + 1;
	vm->next_frame = FAKEVM_GFNS + 1;
	mmu_invalidate_init(&vm->mi, mode, &vm->mmu_lock, &fakevm_ops, vm, &fakevm_slots_a, vm->name);
}

void fakevm_rand_range(uint64_t *seed, uint64_t span, uint64_t *start, uint64_t *end)
{
	uint64_t len = 1 + fakevm_rand(seed) % span;
	*start = fakevm_rand(seed) % (FAKEVM_GFNS - len + 1);
	*end = *start + len;
}

void fakevm_migrate_begin(struct fakevm *vm, struct mmu_inval_range *r, uint64_t start, uint64_t end)
{
	r->gfn_start = start;
	r->gfn_end = end;
	mmu_invalidate_range_start(&vm->mi, r);
	/* The copy to new frames: only memory the start's slots cover, and
	 * only once the start has zapped and raised in_progress (so no fault
	 * installs the old frame from here on). */
	if (!r->counted)
		return;
	for (uint64_t g = start; g < end; g++) {
		if (fakevm_slots_cover(r->slots, g))
			__atomic_store_n(&vm->backing[g], __atomic_fetch_add(&vm->next_frame, 1, __ATOMIC_RELAXED),
					 __ATOMIC_RELEASE);
	}
}

void fakevm_migrate_finish(struct fakevm *vm, struct mmu_inval_range *r)
{
	mmu_invalidate_range_end(&vm->mi, r);
}

void fakevm_migrate(struct fakevm *vm, uint64_t start, uint64_t end, uint64_t nstart, uint64_t nend)
{
	struct mmu_inval_range r, n;

	fakevm_migrate_begin(vm, &r, start, end);
	if (nend > nstart) {
		fakevm_migrate_begin(vm, &n, nstart, nend);
		fakevm_migrate_finish(vm, &n);
	}
	fakevm_migrate_finish(vm, &r);
}

static uint64_t resolve(void *ctx, uint64_t gfn)
{
	struct fakevm *vm = ctx;
	return __atomic_load_n(&vm->backing[gfn], __ATOMIC_ACQUIRE);
}

static void install(void *ctx, uint64_t gfn, uint64_t frame)
{
	struct fakevm *vm = ctx;
	vm->spte[gfn] = frame;
}

unsigned fakevm_fault(struct fakevm *vm, uint64_t gfn)
{
	if (gfn >= FAKEVM_GFNS || !fakevm_slots_cover(mmu_invalidate_slots(&vm->mi), gfn))
		return 0;
	return mmu_invalidate_fault(&vm->mi, gfn, resolve, install, vm);
}

int fakevm_swap(struct fakevm *vm, const int *abort)
{
	const void *cur = mmu_invalidate_slots(&vm->mi);
	const void *next = cur == &fakevm_slots_a ? (const void *)&fakevm_slots_b : (const void *)&fakevm_slots_a;

	/* Only this task swaps (callers' rule), so cur stays current. */
	return mmu_invalidate_swap_slots(&vm->mi, next, NULL, abort);
}

unsigned fakevm_stale(struct fakevm *vm)
{
	unsigned stale = 0;

	spin_lock(&vm->mmu_lock);
	for (uint64_t g = 0; g < FAKEVM_GFNS; g++) {
		if (vm->mi.in_progress && g >= vm->mi.range_start && g < vm->mi.range_end)
			continue;  /* being migrated: its frame may be moving */
		if (vm->spte[g] && vm->spte[g] != __atomic_load_n(&vm->backing[g], __ATOMIC_ACQUIRE))
			stale++;
	}
	spin_unlock(&vm->mmu_lock);
	return stale;
}

/*
 * A fake VM for the invalidation protocol (core/virt/mmu_invalidate.c): the
 * self-tests, the benches and the host tests drive the real protocol with
 * it, without the slot layer or a guest.
 *
 *  - guest memory: FAKEVM_GFNS gfns; backing[g] is the host frame behind g
 *    (a number; "migrating" g gives it a fresh one), spte[g] the
 *    translation a fault installed (0 = none).  Both under the MMU lock for
 *    writes; backing is read locklessly by the fault's resolve step.
 *  - two slot arrays covering different gfns; a swap publishes the other.
 *    Both are static, so an old array is never freed under a reader.
 *  - a migration: start, new frames for the gfns of the range that the
 *    start's slots cover, end.  Optionally a nested migration inside it.
 *  - the stale check: under the MMU lock, a gfn outside the open range
 *    must map nothing or its current frame.  A fault that installed a frame
 *    an invalidation had already replaced breaks it.
 */
#ifndef CORE_VIRT_MMU_INVAL_FAKEVM_H
#define CORE_VIRT_MMU_INVAL_FAKEVM_H

#include <vigil/mmu_invalidate.h>
#include <vigil/spinlock.h>

#define FAKEVM_GFNS 128
#define FAKEVM_MAX_SLOTS 4

struct fakevm_slots {
	unsigned n;
	struct { uint64_t base, npages; } s[FAKEVM_MAX_SLOTS];
};

struct fakevm {
	spinlock_t mmu_lock;
	struct mmu_invalidate mi;
	uint64_t backing[FAKEVM_GFNS];
	uint64_t spte[FAKEVM_GFNS];
	uint64_t next_frame;        /* atomic */
	uint64_t zaps;              /* sptes dropped by zap (under mmu_lock) */
	char name[16];
};

/* The two arrays a swap alternates between. */
extern const struct fakevm_slots fakevm_slots_a, fakevm_slots_b;

void fakevm_init(struct fakevm *vm, enum mmu_inval_mode mode, const char *name);
bool fakevm_slots_cover(const struct fakevm_slots *s, uint64_t gfn);

/* A migration of [start, end): returns with the invalidation ended.
 * nested: [nstart, nend) is migrated inside it (0, 0: none). */
void fakevm_migrate(struct fakevm *vm, uint64_t start, uint64_t end, uint64_t nstart, uint64_t nend);
/* The two halves, for tests that interleave by hand. */
void fakevm_migrate_begin(struct fakevm *vm, struct mmu_inval_range *r, uint64_t start, uint64_t end);
void fakevm_migrate_finish(struct fakevm *vm, struct mmu_inval_range *r);

/* One fault on gfn (if the current slots cover it): returns its retries. */
unsigned fakevm_fault(struct fakevm *vm, uint64_t gfn);
/* Publish the other slot array; -1 when aborted (see mmu_invalidate_swap_slots). */
int fakevm_swap(struct fakevm *vm, const int *abort);
/* gfns mapping a frame that is no longer theirs (0 when the protocol holds). */
unsigned fakevm_stale(struct fakevm *vm);

/* xorshift64: a per-task random stream (seed must not be 0). */
static inline uint64_t fakevm_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* A random range of 1..span gfns inside the VM. */
void fakevm_rand_range(uint64_t *seed, uint64_t span, uint64_t *start, uint64_t *end);

#endif

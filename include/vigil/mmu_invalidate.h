/*
 * Invalidating guest memory while the memory slots may change
 * (docs/invalidation.md has the protocol, both designs and the interleavings).
 *
 * The host takes guest backing frames away or moves them (reclaim,
 * migration) while other tasks may swap the VM's slot array.  Each such
 * change is bracketed by mmu_invalidate_range_start() and _end(); vCPU
 * faults resolve a gfn to a host frame and must not install a translation
 * that a concurrent invalidation is removing.  Per VM, as KVM does it:
 *
 *   lock (spinlock)       active_invalidations, the published slot array.
 *                         start counts itself in BEFORE it reads the slots,
 *                         end counts itself out AFTER; a slot swap waits until
 *                         the count is zero and publishes the new array in
 *                         the same critical section that saw zero, so start
 *                         and end of one invalidation always see the same
 *                         array.  A start never waits for a queued swap:
 *                         nested starts (an invalidation that triggers
 *                         another in the same task) cannot deadlock.  The
 *                         price is that a swap can wait for ever under a
 *                         continuous stream of overlapping invalidations.
 *   *mmu_lock (spinlock)  in_progress, the gfn range (the union of the open
 *                         ranges that hit a slot), seq.  start: in_progress++,
 *                         widen the range, zap the range's translations;
 *                         end: seq++, barrier, in_progress--, and the range
 *                         is reset once in_progress is zero.
 *
 * The fault path reads seq (mmu_invalidate_fault_seq()) before it resolves
 * the backing frame, without any lock, and retries after taking the MMU lock
 * when an open invalidation covers the gfn or seq moved
 * (mmu_invalidate_retry_gfn()).  mmu_invalidate_fault() is that loop.
 *
 * The old design (boot parameter memslot_inval=rwsem) guards the slots with
 * an rw-semaphore instead: start takes it for read and end releases it, the
 * swap takes it for write.  The rw-semaphore is fair (a queued writer blocks
 * new readers), so a task that starts a nested invalidation while a swap is
 * queued waits behind the swap, which waits for the task: a deadlock.  It is
 * kept to show that deadlock (self-test memslot_inval_rwsem_deadlock).
 *
 * The slot array is opaque here (a pointer the slot layer publishes); how it
 * is freed after a swap (once no reader can hold it) is the slot layer's
 * business.  Whether a range touches guest memory at all is asked of the
 * slot layer through ops->range_hits(): an invalidation that hits no slot
 * does not raise in_progress, exactly as in KVM, which is why a start and
 * end that saw different arrays unbalance in_progress.
 */
#ifndef VIGIL_MMU_INVALIDATE_H
#define VIGIL_MMU_INVALIDATE_H

#include <vigil/mutex.h>
#include <vigil/rwsem.h>
#include <vigil/spinlock.h>
#include <vigil/types.h>

enum mmu_inval_mode {
	MMU_INVAL_COUNT = 0,   /* the default: count + unfair wait (KVM) */
	MMU_INVAL_RWSEM = 1,   /* the old design: rw-semaphore, deadlocks on nesting */
	MMU_INVAL_NOWAIT = 2,  /* broken on purpose (tests only): the swap does not wait */
	MMU_INVAL_NORETRY = 3, /* broken on purpose (tests only): count, but a fault never retries */
};

/* The memslot_inval= boot parameter: "count" (default), "rwsem", or
 * "noretry" (broken on purpose: shows that the live-VM tests catch a fault
 * path that maps during an invalidation). */
enum mmu_inval_mode mmu_invalidate_boot_mode(void);
const char *mmu_inval_mode_name(enum mmu_inval_mode m);

struct mmu_invalidate_ops {
	/* Does [gfn_start, gfn_end) overlap a slot of this array?  No lock held
	 * but the caller's read of slots (the slot layer keeps it alive). */
	bool (*range_hits)(void *ctx, const void *slots, uint64_t gfn_start, uint64_t gfn_end);
	/* Drop the translations of [gfn_start, gfn_end): under the MMU lock. */
	void (*zap)(void *ctx, const void *slots, uint64_t gfn_start, uint64_t gfn_end);
};

struct mmu_invalidate_stats {
	uint64_t starts, ends;         /* range_start / range_end calls */
	uint64_t counted;              /* starts that raised in_progress */
	uint64_t mismatches;           /* end saw another slot array than its start */
	uint64_t underflows;           /* an end found in_progress already zero */
	uint64_t swaps;                /* slot arrays published */
	uint64_t swap_waits;           /* swaps that had to wait for the count */
	uint64_t swap_aborts;          /* swaps given up (abort flag) */
	uint64_t faults, retries;      /* faults resolved; retries among them */
	uint64_t max_retries;          /* most retries of one fault */
	uint64_t swap_wait_ns_total;   /* time swaps spent waiting for the count */
	uint64_t swap_wait_ns_max;     /* the longest wait of one swap */
};

struct mmu_invalidate {
	enum mmu_inval_mode mode;
	const struct mmu_invalidate_ops *ops;
	void *ctx;
	const char *name;              /* for reports ("vm1") */

	spinlock_t lock;               /* active_invalidations, slots, swap_waiter */
	long active_invalidations;
	const void *slots;             /* published array; loads are acquire */
	struct task *swap_waiter;      /* the swapper sleeping for the count */
	uint64_t swap_wait_since_ns;
	struct mutex swap_mutex;       /* one swap at a time */
	struct rw_semaphore slots_rwsem; /* MMU_INVAL_RWSEM only */

	spinlock_t *mmu_lock;          /* the VM's MMU lock */
	long in_progress;              /* under *mmu_lock */
	uint64_t range_start, range_end; /* under *mmu_lock; empty when in_progress == 0 */
	uint64_t seq;                  /* under *mmu_lock for writes; read locklessly */

	struct mmu_invalidate_stats st; /* atomics (relaxed) */
	struct mmu_invalidate *next_registered;
};

/* One invalidation in flight: filled by start, consumed by end (caller's
 * storage, usually its stack). */
struct mmu_inval_range {
	uint64_t gfn_start, gfn_end;   /* [start, end), set by the caller */
	const void *slots;             /* the array start saw */
	bool counted;                  /* start raised in_progress */
};

void mmu_invalidate_init(struct mmu_invalidate *mi, enum mmu_inval_mode mode, spinlock_t *mmu_lock,
			 const struct mmu_invalidate_ops *ops, void *ctx, const void *slots,
			 const char *name);
/* Make it visible to the `check` invariant and `mmu_inval` (until unregister). */
void mmu_invalidate_register(struct mmu_invalidate *mi);
void mmu_invalidate_unregister(struct mmu_invalidate *mi);

/* Task context, no spinlock held: they may sleep in MMU_INVAL_RWSEM mode
 * (and deadlock there when nested behind a queued swap). */
void mmu_invalidate_range_start(struct mmu_invalidate *mi, struct mmu_inval_range *r);
void mmu_invalidate_range_end(struct mmu_invalidate *mi, struct mmu_inval_range *r);

/* The published slot array (acquire). */
const void *mmu_invalidate_slots(struct mmu_invalidate *mi);

/*
 * Publish new_slots once no invalidation is open; *old_out gets the array it
 * replaced.  Sleeps.  abort (may be NULL): when another task sets *abort and
 * wakes the swapper (mmu_invalidate_swap_kick()), the swap gives up and
 * returns -1 without publishing; 0 when published.
 */
int mmu_invalidate_swap_slots(struct mmu_invalidate *mi, const void *new_slots, const void **old_out,
			      const int *abort);
/* Wake a swapper waiting in mmu_invalidate_swap_slots() (after setting its
 * abort flag).  No-op when none waits. */
void mmu_invalidate_swap_kick(struct mmu_invalidate *mi);
/* Is a swap waiting for open invalidations right now?  (A snapshot.) */
bool mmu_invalidate_swap_waiting(struct mmu_invalidate *mi);

/* ---- the fault path ---- */

/* Before resolving the backing frame: the current seq (acquire, so the
 * resolution cannot be read before it). */
uint64_t mmu_invalidate_fault_seq(struct mmu_invalidate *mi);
/* With *mmu_lock held: must the fault retry?  (an open invalidation covers
 * gfn, or one ended since seq was read) */
bool mmu_invalidate_retry_gfn(struct mmu_invalidate *mi, uint64_t seq, uint64_t gfn);

/* The whole fault: resolve(ctx, gfn) outside any lock, then under *mmu_lock
 * install(ctx, gfn, frame) unless it must retry; loops until installed and
 * returns the number of retries (also accounted in the stats). */
unsigned mmu_invalidate_fault(struct mmu_invalidate *mi, uint64_t gfn,
			      uint64_t (*resolve)(void *ctx, uint64_t gfn),
			      void (*install)(void *ctx, uint64_t gfn, uint64_t frame), void *ctx);

/* A fault path that does its own loop (a real vCPU retries by re-entering
 * the guest): one retry, and one fault mapped after `retries` of them. */
void mmu_invalidate_count_retry(struct mmu_invalidate *mi);
void mmu_invalidate_count_mapped(struct mmu_invalidate *mi, unsigned retries);

/* ---- state, for checks, commands and tests ---- */

struct mmu_invalidate_snapshot {
	long active_invalidations;
	long in_progress;
	uint64_t range_start, range_end, seq;
	bool swap_waiting;
	uint64_t swap_waiting_ns;      /* how long the current swap has waited */
	struct mmu_invalidate_stats st;
};
void mmu_invalidate_snapshot(struct mmu_invalidate *mi, struct mmu_invalidate_snapshot *s);

/* The balance invariant for one instance: 0 when it holds, else -1 and why
 * ("in_progress=-1 ..." / "in_progress=1 with no invalidation open"). */
int mmu_invalidate_check_one(struct mmu_invalidate *mi, char *why, size_t len);
/* The same over every registered instance. */
int mmu_invalidate_check_all(char *why, size_t len);
/* Visit every registered instance (under the registry lock: fn must not sleep). */
void mmu_invalidate_for_each(void (*fn)(struct mmu_invalidate *mi, void *arg), void *arg);

#endif

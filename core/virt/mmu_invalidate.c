/*
 * Invalidating guest memory while the slots may change: KVM's counted
 * start/end, the fault retry and the slot swap that waits for the count
 * (include/vigil/mmu_invalidate.h, docs/invalidation.md).
 *
 * Two locks, never nested in the production paths:
 *   mi->lock      active_invalidations, the published slots, the swapper
 *   *mi->mmu_lock in_progress, range, seq (and the zaps)
 * The `check` invariant alone takes mi->lock then *mi->mmu_lock, to read
 * both counts at one instant.
 *
 * Why the count comes before the slot read at start and after the slot read
 * at end: a swap publishes only in a critical section of mi->lock that saw
 * the count at zero.  So between an invalidation's increment and its
 * decrement no array can be published, and both of its reads of the slots
 * return the same array.
 *
 * Why a start never waits: starts nest (reclaiming a range may migrate
 * another, whose start runs inside the first), and a start that waited for
 * a queued swap would wait for itself (the swap waits for the outer
 * invalidation).  So a start always gets in, and a swap waits until there
 * happens to be a moment with no invalidation open at all.  Under a
 * continuous overlapping stream that moment may never come: the swap is not
 * starvation-free, by design.  Swaps are rare and invalidations are short,
 * which is why KVM accepts it; the benches measure the wait.
 */
#include <vigil/arch.h>
#include <vigil/atomic.h>
#include <vigil/mmu_invalidate.h>
#include <vigil/printk.h>
#include <vigil/string.h>

#define STAT_INC(mi, f) __atomic_add_fetch(&(mi)->st.f, 1, __ATOMIC_RELAXED)

const char *mmu_inval_mode_name(enum mmu_inval_mode m)
{
	switch (m) {
	case MMU_INVAL_COUNT: return "count";
	case MMU_INVAL_RWSEM: return "rwsem";
	case MMU_INVAL_NOWAIT: return "nowait";
	case MMU_INVAL_NORETRY: return "noretry";
	}
	return "?";
}

void mmu_invalidate_init(struct mmu_invalidate *mi, enum mmu_inval_mode mode, spinlock_t *mmu_lock,
			 const struct mmu_invalidate_ops *ops, void *ctx, const void *slots,
			 const char *name)
{
	memset(mi, 0, sizeof(*mi));
	mi->mode = mode;
	mi->ops = ops;
	mi->ctx = ctx;
	mi->name = name;
	mi->mmu_lock = mmu_lock;
	mi->slots = slots;
	spin_lock_init(&mi->lock);
	mutex_init(&mi->swap_mutex);
	init_rwsem(&mi->slots_rwsem);
}

const void *mmu_invalidate_slots(struct mmu_invalidate *mi)
{
	return __atomic_load_n(&mi->slots, __ATOMIC_ACQUIRE);
}

/* ---- start / end ---- */

void mmu_invalidate_range_start(struct mmu_invalidate *mi, struct mmu_inval_range *r)
{
	STAT_INC(mi, starts);
	r->counted = false;
	if (mi->mode == MMU_INVAL_RWSEM)
		down_read(&mi->slots_rwsem);  /* the old design: waits behind a queued swap */

	/* Counted in before the slots are read: from here no swap publishes
	 * until our end has counted us out. */
	spin_lock(&mi->lock);
	mi->active_invalidations++;
	spin_unlock(&mi->lock);

	r->slots = mmu_invalidate_slots(mi);
	if (!mi->ops->range_hits(mi->ctx, r->slots, r->gfn_start, r->gfn_end))
		return;  /* no guest memory there: nothing for a fault to race with */

	spin_lock(mi->mmu_lock);
	long n = mi->in_progress + 1;
	__atomic_store_n(&mi->in_progress, n, __ATOMIC_RELAXED);
	if (n == 1) {
		mi->range_start = r->gfn_start;
		mi->range_end = r->gfn_end;
	} else {
		/* One range for all open invalidations (their union, rounded
		 * out): a fault inside it retries even if no single one covers
		 * it, which costs a retry, never correctness. */
		if (r->gfn_start < mi->range_start)
			mi->range_start = r->gfn_start;
		if (r->gfn_end > mi->range_end)
			mi->range_end = r->gfn_end;
	}
	/* Zap after in_progress is raised, under the same lock: a fault that
	 * resolved the old frame either installed before this (and is zapped
	 * now) or takes the lock after, sees the range and retries. */
	mi->ops->zap(mi->ctx, r->slots, r->gfn_start, r->gfn_end);
	spin_unlock(mi->mmu_lock);
	r->counted = true;
	STAT_INC(mi, counted);
}

void mmu_invalidate_range_end(struct mmu_invalidate *mi, struct mmu_inval_range *r)
{
	STAT_INC(mi, ends);
	/* End looks at the slots again, as KVM does: it must find the same
	 * array as its start, or in_progress is unbalanced.  The count
	 * guarantees it; a mismatch is recorded for the tests that prove it
	 * (and for the broken variant that shows what goes wrong). */
	const void *slots = mmu_invalidate_slots(mi);
	if (slots != r->slots)
		STAT_INC(mi, mismatches);

	if (mi->ops->range_hits(mi->ctx, slots, r->gfn_start, r->gfn_end)) {
		spin_lock(mi->mmu_lock);
		/* seq first, then in_progress, with a barrier between: a
		 * lockless reader that sees in_progress dropped also sees the
		 * new seq, so no fault slips through between the two.  seq is
		 * stored with release so that the backing change made inside
		 * this invalidation is visible to a fault that reads (acquire)
		 * the new seq. */
		__atomic_store_n(&mi->seq, mi->seq + 1, __ATOMIC_RELEASE);
		smp_wmb();
		long n = mi->in_progress - 1;
		if (n < 0)
			STAT_INC(mi, underflows);
		__atomic_store_n(&mi->in_progress, n, __ATOMIC_RELEASE);
		if (n == 0) {
			mi->range_start = 0;
			mi->range_end = 0;
		}
		spin_unlock(mi->mmu_lock);
	}

	/* Counted out after the last look at the slots.  The swapper is woken
	 * under the lock: it clears swap_waiter under the same lock before it
	 * returns, so the task cannot be gone. */
	spin_lock(&mi->lock);
	if (--mi->active_invalidations == 0 && mi->swap_waiter)
		wake_up_task(mi->swap_waiter);
	spin_unlock(&mi->lock);

	if (mi->mode == MMU_INVAL_RWSEM)
		up_read(&mi->slots_rwsem);
}

/* ---- the slot swap ---- */

static void publish(struct mmu_invalidate *mi, const void *new_slots, const void **old_out)
{
	if (old_out)
		*old_out = mi->slots;
	__atomic_store_n(&mi->slots, new_slots, __ATOMIC_RELEASE);
	STAT_INC(mi, swaps);
}

static bool aborted(const int *abort)
{
	return abort && __atomic_load_n(abort, __ATOMIC_ACQUIRE);
}

/* Under mi->lock, at the end of a swap's wait: account it (the figures of
 * docs/invalidation.md's swap latency) and clear the start time. */
static void note_swap_wait(struct mmu_invalidate *mi)
{
	if (!mi->swap_wait_since_ns)
		return;
	uint64_t ns = arch_time_ns() - mi->swap_wait_since_ns;
	mi->swap_wait_since_ns = 0;
	__atomic_add_fetch(&mi->st.swap_wait_ns_total, ns, __ATOMIC_RELAXED);
	if (ns > mi->st.swap_wait_ns_max)
		__atomic_store_n(&mi->st.swap_wait_ns_max, ns, __ATOMIC_RELAXED);
}

/* Wait until no invalidation is open, then publish, in one critical section
 * of mi->lock.  Starts get in while we wait (they never look at us). */
static int swap_counted(struct mmu_invalidate *mi, const void *new_slots, const void **old_out,
			const int *abort)
{
	int ret = 0;

	spin_lock(&mi->lock);
	if (mi->active_invalidations) {
		STAT_INC(mi, swap_waits);
		mi->swap_wait_since_ns = arch_time_ns();
		sched_wait_note("mmu_invalidate swap", "active_invalidations");
	}
	while (mi->active_invalidations) {
		if (aborted(abort)) {
			ret = -1;
			break;
		}
		mi->swap_waiter = current_task();
		/* Blocked before the lock is dropped: the end that brings the
		 * count to zero wakes us under the lock, so the wake-up cannot
		 * fall between our test and our sleep. */
		set_current_state(TASK_BLOCKED);
		spin_unlock(&mi->lock);
		schedule();
		__set_current_state(TASK_RUNNING);
		spin_lock(&mi->lock);
	}
	mi->swap_waiter = NULL;
	note_swap_wait(mi);
	if (!ret)
		publish(mi, new_slots, old_out);
	spin_unlock(&mi->lock);
	sched_wait_note(NULL, NULL);
	return ret;
}

static int swap_rwsem(struct mmu_invalidate *mi, const void *new_slots, const void **old_out,
		      const int *abort)
{
	static const int never;

	spin_lock(&mi->lock);
	mi->swap_waiter = current_task();
	mi->swap_wait_since_ns = arch_time_ns();
	spin_unlock(&mi->lock);
	int ret = down_write_abortable(&mi->slots_rwsem, abort ? abort : &never);
	spin_lock(&mi->lock);
	mi->swap_waiter = NULL;
	note_swap_wait(mi);
	if (!ret)
		publish(mi, new_slots, old_out);
	spin_unlock(&mi->lock);
	if (!ret)
		up_write(&mi->slots_rwsem);
	return ret;
}

int mmu_invalidate_swap_slots(struct mmu_invalidate *mi, const void *new_slots, const void **old_out,
			      const int *abort)
{
	int ret;

	mutex_lock(&mi->swap_mutex);
	switch (mi->mode) {
	case MMU_INVAL_RWSEM:
		ret = swap_rwsem(mi, new_slots, old_out, abort);
		break;
	case MMU_INVAL_NOWAIT:
		/* Broken on purpose: publishes between a start and its end. */
		spin_lock(&mi->lock);
		publish(mi, new_slots, old_out);
		spin_unlock(&mi->lock);
		ret = 0;
		break;
	default:
		ret = swap_counted(mi, new_slots, old_out, abort);
		break;
	}
	if (ret)
		STAT_INC(mi, swap_aborts);
	mutex_unlock(&mi->swap_mutex);
	return ret;
}

void mmu_invalidate_swap_kick(struct mmu_invalidate *mi)
{
	spin_lock(&mi->lock);
	if (mi->swap_waiter)
		wake_up_task(mi->swap_waiter);
	spin_unlock(&mi->lock);
}

bool mmu_invalidate_swap_waiting(struct mmu_invalidate *mi)
{
	spin_lock(&mi->lock);
	bool w = mi->swap_waiter != NULL;
	spin_unlock(&mi->lock);
	return w;
}

/* ---- the fault path ---- */

uint64_t mmu_invalidate_fault_seq(struct mmu_invalidate *mi)
{
	/* Acquire: the frame lookup that follows cannot be done before seq is
	 * read, so a frame taken away after this read bumps seq later. */
	return __atomic_load_n(&mi->seq, __ATOMIC_ACQUIRE);
}

bool mmu_invalidate_retry_gfn(struct mmu_invalidate *mi, uint64_t seq, uint64_t gfn)
{
	lockdep_assert_held(mi->mmu_lock);
	if (mi->mode == MMU_INVAL_NORETRY)
		return false;  /* broken on purpose (memslot_inval=noretry) */
	if (mi->in_progress && gfn >= mi->range_start && gfn < mi->range_end)
		return true;
	return mi->seq != seq;
}

static void note_retries(struct mmu_invalidate *mi, unsigned retries)
{
	STAT_INC(mi, faults);
	uint64_t cur = __atomic_load_n(&mi->st.max_retries, __ATOMIC_RELAXED);
	while (retries > cur &&
	       !__atomic_compare_exchange_n(&mi->st.max_retries, &cur, retries, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

unsigned mmu_invalidate_fault(struct mmu_invalidate *mi, uint64_t gfn,
			      uint64_t (*resolve)(void *ctx, uint64_t gfn),
			      void (*install)(void *ctx, uint64_t gfn, uint64_t frame), void *ctx)
{
	unsigned retries = 0;

	for (;;) {
		uint64_t seq = mmu_invalidate_fault_seq(mi);
		uint64_t frame = resolve(ctx, gfn);
		spin_lock(mi->mmu_lock);
		if (!mmu_invalidate_retry_gfn(mi, seq, gfn)) {
			install(ctx, gfn, frame);
			spin_unlock(mi->mmu_lock);
			break;
		}
		spin_unlock(mi->mmu_lock);
		retries++;
		STAT_INC(mi, retries);  /* as they happen: a fault stuck retrying shows */
		cpu_relax();  /* a vCPU would re-enter the guest and fault again */
	}
	note_retries(mi, retries);
	return retries;
}

void mmu_invalidate_count_retry(struct mmu_invalidate *mi)
{
	STAT_INC(mi, retries);
}

void mmu_invalidate_count_mapped(struct mmu_invalidate *mi, unsigned retries)
{
	note_retries(mi, retries);
}

/* ---- state and the invariant ---- */

void mmu_invalidate_snapshot(struct mmu_invalidate *mi, struct mmu_invalidate_snapshot *s)
{
	spin_lock(&mi->lock);
	s->active_invalidations = mi->active_invalidations;
	s->swap_waiting = mi->swap_waiter != NULL;
	s->swap_waiting_ns = mi->swap_wait_since_ns ? arch_time_ns() - mi->swap_wait_since_ns : 0;
	spin_lock(mi->mmu_lock);
	s->in_progress = mi->in_progress;
	s->range_start = mi->range_start;
	s->range_end = mi->range_end;
	s->seq = mi->seq;
	spin_unlock(mi->mmu_lock);
	spin_unlock(&mi->lock);
	/* Counters are updated with relaxed atomics, outside the locks. */
	const uint64_t *from = (const uint64_t *)&mi->st;
	uint64_t *to = (uint64_t *)&s->st;
	for (size_t i = 0; i < sizeof(s->st) / sizeof(uint64_t); i++)
		to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

int mmu_invalidate_check_one(struct mmu_invalidate *mi, char *why, size_t len)
{
	struct mmu_invalidate_snapshot s;

	mmu_invalidate_snapshot(mi, &s);
	if (s.in_progress < 0) {
		snprintf(why, len, "%s in_progress=%ld below zero (active=%ld)", mi->name, s.in_progress,
			 s.active_invalidations);
		return -1;
	}
	if (s.active_invalidations == 0 && s.in_progress != 0) {
		snprintf(why, len, "%s in_progress=%ld with no invalidation open", mi->name, s.in_progress);
		return -1;
	}
	if (s.in_progress > s.active_invalidations) {
		snprintf(why, len, "%s in_progress=%ld above active=%ld", mi->name, s.in_progress,
			 s.active_invalidations);
		return -1;
	}
	return 0;
}

/* ---- the registry (for `check` and `mmu_inval`) ---- */

static DEFINE_SPINLOCK(registry_lock);
static struct mmu_invalidate *registered;

void mmu_invalidate_register(struct mmu_invalidate *mi)
{
	spin_lock(&registry_lock);
	mi->next_registered = registered;
	registered = mi;
	spin_unlock(&registry_lock);
}

void mmu_invalidate_unregister(struct mmu_invalidate *mi)
{
	spin_lock(&registry_lock);
	for (struct mmu_invalidate **pp = &registered; *pp; pp = &(*pp)->next_registered) {
		if (*pp == mi) {
			*pp = mi->next_registered;
			break;
		}
	}
	spin_unlock(&registry_lock);
}

void mmu_invalidate_for_each(void (*fn)(struct mmu_invalidate *mi, void *arg), void *arg)
{
	spin_lock(&registry_lock);
	for (struct mmu_invalidate *mi = registered; mi; mi = mi->next_registered)
		fn(mi, arg);
	spin_unlock(&registry_lock);
}

int mmu_invalidate_check_all(char *why, size_t len)
{
	int ret = 0;

	spin_lock(&registry_lock);
	for (struct mmu_invalidate *mi = registered; mi && !ret; mi = mi->next_registered)
		ret = mmu_invalidate_check_one(mi, why, len);
	spin_unlock(&registry_lock);
	return ret;
}

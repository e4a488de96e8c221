/*
 * SRCU, counter-based (include/vigil/srcu.h has the design).
 *
 * What a grace period must guarantee: a reader that saw the OLD version of a
 * published pointer is still counted by the updater's scan, so the updater
 * waits for it before freeing that version.  The barriers, by letter:
 *
 *   (A) reader:  lock[idx]++;  smp_mb;  load the protected pointer
 *       updater: store the new pointer (the caller);  smp_mb;  scan counts
 *       A Dekker pair: either the updater's scan sees the reader's lock
 *       increment (and waits for the matching unlock), or the reader's load
 *       comes after the updater's store and sees the NEW pointer.  Without
 *       the two full barriers both could read stale values (a store may sit
 *       in the store buffer while a later load completes: x86 SDM vol 3A
 *       9.2.3.4, "Loads may be reordered with earlier stores to different
 *       locations"), and the scan would miss a reader holding the old
 *       pointer.
 *   (B) reader:  ...section...;  smp_mb;  unlock[idx]++ (release)
 *       updater: unlock sums (acquire) show the slot drained;  smp_mb;
 *                the caller frees the old version
 *       Every access of the section comes before the free.
 *   (C) the scan: sum unlock[idx] over the CPUs (acquire);  smp_mb;  sum
 *       lock[idx].  A reader increments lock before unlock (with (A) and (B)
 *       between), so every unlock the scan counts has its lock counted too.
 *       "locks == unlocks" then means every counted reader has left.  The
 *       other order could count the unlock but not the lock of a reader
 *       that went in and out between the two sums, and that extra unlock
 *       would balance a reader still inside.  The CPU bound is reloaded
 *       after the barrier for the same reason: a counted unlock's lock may be
 *       on a CPU that raised the bound after the first load.
 *   (D) reader:  unlock[idx]++;  smp_mb (wq_has_sleeper);  look at gp_wq
 *       updater: queue on gp_wq;  smp_mb (prepare_to_wait);  scan
 *       Either the reader sees the sleeping updater and wakes it, or the
 *       updater's scan sees the unlock: no wake-up is lost.
 *   (E) around the flip: the updater's scans of the retired slot come after
 *       the flip is visible, so readers that start later use the new slot.
 *
 * Why each grace period first waits for the slot that is NOT current:
 * srcu_read_lock() loads `completed` and then increments the slot it names.
 * A reader delayed between the two (an interrupt, or the vCPU of this very
 * machine descheduled by its host) increments a slot a flip has just
 * retired, after the updater of that flip found it drained.  That reader
 * began after the grace period, so it is no danger to that updater -- but
 * the NEXT grace period flips back to that slot as the current one and then
 * waits only for the other, and would miss it.  Waiting for the non-current
 * slot first catches such stragglers.  Preemption stays off between the load
 * and the increment, so there is at most one straggler per CPU and the wait
 * is short.  (Counters are 64-bit and only grow: they do not wrap.)
 *
 * The counts are changed with atomic read-modify-writes: an unlock runs on
 * whatever CPU the reader migrated to, unordered with that CPU's own
 * readers, so a plain load + store could lose an increment.
 *
 * The explicit acquire/release on the counters duplicates what the full
 * barriers give on the hardware, so ThreadSanitizer (which does not model
 * fences) sees the hand-over from a reader's section to the updater too.
 */
#include <vigil/arch.h>
#include <vigil/atomic.h>
#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/sched.h>
#include <vigil/srcu.h>
#include <vigil/waitqueue.h>

/* An expedited grace period polls this long per slot before it sleeps:
 * about what a short read section (an exit handler's slot lookup) lasts. */
#define SRCU_EXP_POLL_NS 50000ULL

void __init_srcu_struct(struct srcu_struct *s, const char *name, const struct lock_class_key *key)
{
	for (unsigned c = 0; c < CONFIG_MAX_CPUS; c++) {
		for (unsigned i = 0; i < 2; i++) {
			__atomic_store_n(&s->cpu[c].lock[i], 0, __ATOMIC_RELAXED);
			__atomic_store_n(&s->cpu[c].unlock[i], 0, __ATOMIC_RELAXED);
		}
	}
	__atomic_store_n(&s->completed, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->nr_cpus, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->gps, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->gp_sleeps, 0, __ATOMIC_RELAXED);
	mutex_init(&s->gp_mutex);
	init_waitqueue_head(&s->gp_wq);
	lockdep_init_map(&s->dep_map, name, key);
}

unsigned long srcu_readers_active(struct srcu_struct *s)
{
	unsigned n = __atomic_load_n(&s->nr_cpus, __ATOMIC_ACQUIRE);
	unsigned long locks = 0, unlocks = 0;

	for (unsigned c = 0; c < n; c++)
		unlocks += __atomic_load_n(&s->cpu[c].unlock[0], __ATOMIC_ACQUIRE) +
			   __atomic_load_n(&s->cpu[c].unlock[1], __ATOMIC_ACQUIRE);
	smp_mb();                                               /* (C) */
	n = __atomic_load_n(&s->nr_cpus, __ATOMIC_ACQUIRE);
	for (unsigned c = 0; c < n; c++)
		locks += __atomic_load_n(&s->cpu[c].lock[0], __ATOMIC_RELAXED) +
			 __atomic_load_n(&s->cpu[c].lock[1], __ATOMIC_RELAXED);
	return locks - unlocks;
}

unsigned long srcu_batches_completed(struct srcu_struct *s)
{
	return __atomic_load_n(&s->gps, __ATOMIC_RELAXED);
}

void cleanup_srcu_struct(struct srcu_struct *s)
{
	if (srcu_readers_active(s))
		lockdep_report_misuse("srcu-cleanup-busy", &s->dep_map, LOCKDEP_SITE,
				      "cleanup_srcu_struct with readers inside");
	else if (mutex_is_locked(&s->gp_mutex))
		lockdep_report_misuse("srcu-cleanup-busy", &s->dep_map, LOCKDEP_SITE,
				      "cleanup_srcu_struct during a grace period");
}

/* The scans cover CPUs below nr_cpus; a CPU raises it before its first
 * count in this domain.  A compare-and-exchange loop, since two CPUs may
 * raise it at once; after the first section on each CPU it is one load. */
static void cover_cpu(struct srcu_struct *s, unsigned cpu)
{
	unsigned n = __atomic_load_n(&s->nr_cpus, __ATOMIC_RELAXED);

	while (cpu >= n) {
		if (__atomic_compare_exchange_n(&s->nr_cpus, &n, cpu + 1, false, __ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED))
			break;
	}
}

int __srcu_read_lock(struct srcu_struct *s)
{
	preempt_disable();   /* bounds the straggler window (see the top) */
	unsigned cpu = smp_processor_id();
	int idx = (int)(__atomic_load_n(&s->completed, __ATOMIC_RELAXED) & 1);

	cover_cpu(s, cpu);
	__atomic_fetch_add(&s->cpu[cpu].lock[idx], 1, __ATOMIC_RELAXED);
	smp_mb();                                               /* (A) */
	preempt_enable();
	return idx;
}

void __srcu_read_unlock(struct srcu_struct *s, int idx)
{
	smp_mb();                                               /* (B) */
	/* Any CPU's line would do (only sums count); this one is local. */
	unsigned cpu = smp_processor_id();

	cover_cpu(s, cpu);
	__atomic_fetch_add(&s->cpu[cpu].unlock[idx & 1], 1, __ATOMIC_RELEASE);
	if (wq_has_sleeper(&s->gp_wq))                          /* (D) */
		wake_up_all(&s->gp_wq);
}

int srcu_read_lock_at(struct srcu_struct *s, const char *site)
{
	int idx = __srcu_read_lock(s);

	/* Read and trylock: entering a read section never waits, so no held
	 * lock is ordered before it; locks taken inside are ordered after it. */
	lock_acquire(&s->dep_map, 0, true, true, site, LOCKDEP_RET_IP);
	return idx;
}

void srcu_read_unlock_at(struct srcu_struct *s, int idx, const char *site)
{
	lock_release(&s->dep_map, site, LOCKDEP_RET_IP);
	__srcu_read_unlock(s, idx);
}

/* Has every reader counted in slot idx left?  (C) */
static bool slot_drained(struct srcu_struct *s, unsigned idx)
{
	unsigned n = __atomic_load_n(&s->nr_cpus, __ATOMIC_ACQUIRE);
	unsigned long locks = 0, unlocks = 0;

	for (unsigned c = 0; c < n; c++)
		unlocks += __atomic_load_n(&s->cpu[c].unlock[idx], __ATOMIC_ACQUIRE);  /* (B) */
	smp_mb();                                               /* (C) */
	n = __atomic_load_n(&s->nr_cpus, __ATOMIC_ACQUIRE);
	for (unsigned c = 0; c < n; c++)
		locks += __atomic_load_n(&s->cpu[c].lock[idx], __ATOMIC_RELAXED);
	return locks == unlocks;
}

static void wait_drained(struct srcu_struct *s, unsigned idx, bool expedited)
{
	if (expedited) {
		/* Poll with interrupts and preemption on: a reader on this
		 * CPU, or an interrupt, still gets to run. */
		uint64_t until = arch_time_ns() + SRCU_EXP_POLL_NS;
		do {
			if (slot_drained(s, idx))
				return;
			cpu_relax();
		} while (arch_time_ns() < until);
	}
	if (slot_drained(s, idx))
		return;
	__atomic_add_fetch(&s->gp_sleeps, 1, __ATOMIC_RELAXED);
	/* Readers may sleep for long: the last one out wakes us (D). */
	__wait_event(&s->gp_wq, slot_drained(s, idx));
}

static void synchronize(struct srcu_struct *s, bool expedited, const char *site, uintptr_t ip)
{
	__might_sleep(site);
	/* Before waiting, so a synchronize inside its own read section is
	 * reported rather than hanging silently. */
	lock_sync(&s->dep_map, site, ip);
	mutex_lock(&s->gp_mutex);
	smp_mb();                                               /* (A) */
	unsigned long done = __atomic_load_n(&s->completed, __ATOMIC_RELAXED);

	wait_drained(s, (unsigned)(done + 1) & 1, expedited);  /* stragglers */
	smp_mb();                                               /* (E) */
	__atomic_store_n(&s->completed, done + 1, __ATOMIC_RELAXED);
	smp_mb();                                               /* (E) */
	wait_drained(s, (unsigned)done & 1, expedited);
	smp_mb();                                               /* (B) */
	__atomic_store_n(&s->gps, __atomic_load_n(&s->gps, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
	mutex_unlock(&s->gp_mutex);
}

void synchronize_srcu_at(struct srcu_struct *s, const char *site)
{
	synchronize(s, false, site, LOCKDEP_RET_IP);
}

void synchronize_srcu_expedited_at(struct srcu_struct *s, const char *site)
{
	synchronize(s, true, site, LOCKDEP_RET_IP);
}

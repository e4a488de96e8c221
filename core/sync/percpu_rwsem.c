/*
 * Per-CPU rw-semaphore (include/vigil/percpu_rwsem.h has the design).
 *
 * Barrier pairs, by number:
 *   (A) reader: inc count[cpu]; smp_mb; load block
 *       writer: xchg block=1 (full); smp_mb; sum counts
 *       Dekker: a reader that saw block == 0 is in the writer's sum.
 *   (B) reader: ...critical section...; smp_mb; dec count (release)
 *       writer: sum counts (acquire) == 0; smp_mb; ...critical section...
 *       The writer's section comes after every reader's.
 *   (C) reader: dec count; smp_mb; load block -> wake the drain queue
 *       writer: queue on drain_wq; smp_mb (prepare_to_wait); sum counts
 *       Either the reader sees the pending writer and wakes it, or the
 *       writer's recount sees the decrement.
 *   (D) writer: ...section...; store block = 0 (release); wake readers_wq
 *       reader: load block (acquire) == 0; ...section...
 * The explicit release/acquire in (B) and (D) duplicate what the full
 * barriers already give on the hardware, so ThreadSanitizer (which does not
 * model fences) sees the hand-over too.
 *
 * The per-CPU counter is changed with a plain load + store of this CPU's
 * slot, not an atomic read-modify-write: with preemption off, nothing else
 * on this CPU touches it (no reader runs in interrupt context: readers may
 * sleep), so no lock prefix is needed.  Other CPUs only read it.
 */
#include <vigil/atomic.h>
#include <vigil/config.h>
#include <vigil/lockdep.h>
#include <vigil/percpu_rwsem.h>
#include <vigil/printk.h>
#include <vigil/sched.h>

void __percpu_init_rwsem(struct percpu_rw_semaphore *s, const char *name,
			 const struct lock_class_key *key)
{
	for (unsigned cpu = 0; cpu < CONFIG_MAX_CPUS; cpu++)
		__atomic_store_n(&s->count[cpu].readers, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->block, 0, __ATOMIC_RELAXED);
	init_waitqueue_head(&s->readers_wq);
	init_waitqueue_head(&s->writers_wq);
	init_waitqueue_head(&s->drain_wq);
	lockdep_init_map(&s->dep_map, name, key);
}

/* Add delta to this CPU's counter; preemption is off. */
static void this_cpu_add(struct percpu_rw_semaphore *s, long delta, int order)
{
	unsigned cpu = smp_processor_id();
	long *c = &s->count[cpu].readers;

	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + delta, order);
}

/* Some writer may be waiting for the readers to drain: let it recount. */
static void wake_drain(struct percpu_rw_semaphore *s)
{
	if (wq_has_sleeper(&s->drain_wq))
		wake_up_all(&s->drain_wq);
}

/* The reader fast path; preemption is off.  true: read-locked. */
static bool read_trylock_preempt_off(struct percpu_rw_semaphore *s)
{
	this_cpu_add(s, 1, __ATOMIC_RELAXED);
	smp_mb();                                                   /* (A) */
	if (likely(!__atomic_load_n(&s->block, __ATOMIC_ACQUIRE)))  /* (D) */
		return true;
	/* A writer is active or pending: back out.  It may have counted us
	 * and gone to sleep, so tell it to recount. */
	this_cpu_add(s, -1, __ATOMIC_RELEASE);
	smp_mb();                                                   /* (C) */
	wake_drain(s);
	return false;
}

static bool read_trylock(struct percpu_rw_semaphore *s)
{
	preempt_disable();
	bool ok = read_trylock_preempt_off(s);
	preempt_enable();
	return ok;
}

void percpu_down_read_at(struct percpu_rw_semaphore *s, const char *site)
{
	__might_sleep(site);
	lock_acquire(&s->dep_map, 0, true, false, site, LOCKDEP_RET_IP);
	if (likely(read_trylock(s)))
		return;
	/* up_write clears block (release) and then wakes readers_wq, so a
	 * reader queued here either sees block == 0 or gets woken. */
	__wait_event(&s->readers_wq, read_trylock(s));
}

bool percpu_down_read_trylock_at(struct percpu_rw_semaphore *s, const char *site)
{
	if (!read_trylock(s))
		return false;
	lock_acquire(&s->dep_map, 0, true, true, site, LOCKDEP_RET_IP);
	return true;
}

void percpu_up_read_at(struct percpu_rw_semaphore *s, const char *site)
{
	lock_release(&s->dep_map, site, LOCKDEP_RET_IP);
	preempt_disable();
	smp_mb();                                 /* (B): section before the decrement */
	this_cpu_add(s, -1, __ATOMIC_RELEASE);
	smp_mb();                                 /* (C) */
	bool writer = __atomic_load_n(&s->block, __ATOMIC_RELAXED);
	preempt_enable();
	if (unlikely(writer))
		wake_drain(s);
}

long percpu_rwsem_readers(struct percpu_rw_semaphore *s)
{
	long sum = 0;

	/* Acquire: pairs with the release decrements (B). */
	for (unsigned cpu = 0; cpu < CONFIG_MAX_CPUS; cpu++)
		sum += __atomic_load_n(&s->count[cpu].readers, __ATOMIC_ACQUIRE);
	return sum;
}

bool percpu_rwsem_writer_pending(struct percpu_rw_semaphore *s)
{
	return __atomic_load_n(&s->block, __ATOMIC_RELAXED) != 0;
}

static bool readers_gone(struct percpu_rw_semaphore *s)
{
	long n = percpu_rwsem_readers(s);

	if (n < 0)
		panic("percpu_rwsem %s: reader count %ld < 0 (unbalanced up_read)",
		      s->dep_map.name, n);
	if (n)
		return false;
	smp_mb();                                 /* (B): our section after theirs */
	return true;
}

static bool block_readers(struct percpu_rw_semaphore *s)
{
	/* Exchange: writers exclude each other through block. */
	return __atomic_exchange_n(&s->block, 1, __ATOMIC_SEQ_CST) == 0;
}

void percpu_down_write_at(struct percpu_rw_semaphore *s, const char *site)
{
	__might_sleep(site);
	lock_acquire(&s->dep_map, 0, false, false, site, LOCKDEP_RET_IP);
	__wait_event(&s->writers_wq, block_readers(s));
	smp_mb();                                 /* (A) */
	/* No new reader gets in now; wait for the ones inside to leave. */
	__wait_event(&s->drain_wq, readers_gone(s));
}

void percpu_up_write_at(struct percpu_rw_semaphore *s, const char *site)
{
	if (!__atomic_load_n(&s->block, __ATOMIC_RELAXED)) {
		lockdep_report_misuse("unlock-unlocked", &s->dep_map, site,
				      "percpu_up_write of a percpu_rw_semaphore not write-locked");
		return;
	}
	lock_release(&s->dep_map, site, LOCKDEP_RET_IP);
	__atomic_store_n(&s->block, 0, __ATOMIC_RELEASE);   /* (D) */
	wake_up_all(&s->readers_wq);
	wake_up_one(&s->writers_wq);
}

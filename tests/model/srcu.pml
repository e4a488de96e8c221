/*
 * Model 5, "srcu": the grace period of core/sync/srcu.c against readers that
 * are delayed anywhere, migrate inside their sections and unlock on another
 * CPU.  docs/models.md explains what it proves and how to run it.
 *
 * What it abstracts, by C function (core/sync/srcu.c):
 *
 *   __srcu_read_lock        reader(): load `completed`, raise the CPU bound
 *                           (cover_cpu), lock count of (cpu, slot) + 1, then
 *                           the protected pointer is loaded
 *   __srcu_read_unlock      reader(): on the CPU it migrated to, raise the
 *                           bound, unlock count + 1, wake the queued updater
 *   slot_drained            scan(): the unlock sum over the CPUs below the
 *                           bound, the bound reloaded, the lock sum -- one
 *                           counter read per step, so readers interleave
 *                           between any two reads
 *   wait_drained            wait_drained(): scan; else queue on gp_wq and
 *                           re-scan, sleeping until woken, until drained
 *   synchronize_srcu        updater(): publish a new version, wait for the
 *                           slot that is not current, flip, wait for the old
 *                           slot, then poison the old version
 *   srcu_dereference,       the pointer load and the caller's free
 *   srcu_assign_pointer
 *   core/sync/waitqueue.c   a queued flag and a woken flag (one sleeper)
 *
 * Not modelled: memory ordering beyond sequential consistency (Spin's
 * interleavings are SC; the barriers (A)-(E) of srcu.c make the C code behave
 * so, and the BROKEN_ variants below express what a missing one allows),
 * the expedited variant's polling (only more scans before the sleep: a scan
 * is a fresh check, so more of them change nothing), gp_mutex (one updater),
 * lockdep, the diagnostic counters.
 *
 * Bounds: NCPU CPUs (default 2), READERS readers (default 2) of SECTIONS
 * read sections each (default 1), one updater of GPS grace periods
 * (default 2).
 *
 * Properties:
 *   use_after_free   (assertion) a reader's object is never poisoned while
 *                    the reader is inside its section -- checked when it
 *                    loads the pointer and again just before it unlocks
 *   deadlock         no invalid end state: every grace period ends (no lost
 *                    wake-up on gp_wq), every reader finishes
 *
 * Switches (-D to spin -a): the broken variants that Spin must reject.
 *   BROKEN_NO_STRAGGLER_WAIT  synchronize does not wait for the slot that is
 *                             not current before flipping
 *   BROKEN_LOCKS_FIRST        the scan sums lock counts before unlock counts
 *   BROKEN_NO_RELOAD          the scan does not reload the CPU bound between
 *                             the two sums
 *   BROKEN_DEREF_BEFORE_LOCK  the reader loads the pointer before its lock
 *                             count is visible (what a missing barrier (A)
 *                             allows)
 *   BROKEN_NO_WAKE            the reader's unlock does not wake the updater
 */

#ifndef NCPU
#define NCPU 2
#endif
#ifndef READERS
#define READERS 2
#endif
#ifndef SECTIONS
#define SECTIONS 1
#endif
#ifndef GPS
#define GPS 2
#endif

byte lock_cnt[NCPU * 2];     /* srcu_struct.cpu[c].lock[slot] at [2 * c + slot] */
byte unlock_cnt[NCPU * 2];   /* srcu_struct.cpu[c].unlock[slot] */
byte completed;              /* srcu_struct.completed */
byte nr_cpus;                /* srcu_struct.nr_cpus: 1 + the highest CPU used */
byte ptr;                    /* the published version (0 .. GPS) */
bool poisoned[GPS + 1];      /* a version the updater has freed */
bool gp_queued, gp_woken;    /* srcu_struct.gp_wq */

/* ghost */
bool use_after_free;

inline cover_cpu(c)
{
	atomic { if :: nr_cpus <= c -> nr_cpus = c + 1 :: else -> skip fi }
}

/* Any CPU, in one step (the choice itself touches nothing shared). */
inline pick_cpu(c)
{
	atomic {
		c = 0;
		do
		:: c < NCPU - 1 -> c++
		:: break
		od
	}
}

inline check_object(p)
{
	atomic { use_after_free = poisoned[p]; assert(!use_after_free) }
}

proctype reader()
{
	byte s = SECTIONS, cpu, idx, p;
	do
	:: s > 0 ->
		s--;
		pick_cpu(cpu);
#ifdef BROKEN_DEREF_BEFORE_LOCK
		p = ptr;
#endif
		idx = completed & 1;
		cover_cpu(cpu);
		lock_cnt[2 * cpu + idx]++;
#ifndef BROKEN_DEREF_BEFORE_LOCK
		p = ptr;
#endif
		check_object(p);
		pick_cpu(cpu);            /* slept and migrated inside */
		check_object(p);
		cover_cpu(cpu);
		atomic { unlock_cnt[2 * cpu + idx]++; cpu = 0; idx = 0; p = 0 }
#ifndef BROKEN_NO_WAKE
		atomic { if :: gp_queued -> gp_queued = false; gp_woken = true :: else -> skip fi }
#endif
	:: else -> break
	od
}

/* One counter read per step.  (Promela inlines take no array argument.) */
inline sum_unlocks(idx)
{
	c = 0;
	do
	:: atomic { c < n -> acc = acc + unlock_cnt[2 * c + (idx)]; c++ }
	:: else -> break
	od
}

inline sum_locks(idx)
{
	c = 0;
	do
	:: atomic { c < n -> acc = acc + lock_cnt[2 * c + (idx)]; c++ }
	:: else -> break
	od
}

/* slot_drained(idx) */
inline scan(idx)
{
	n = nr_cpus;
#ifdef BROKEN_LOCKS_FIRST
	sum_locks(idx);
	atomic { locks = acc; acc = 0 };
	sum_unlocks(idx);
	unlocks = acc;
#else
	sum_unlocks(idx);
	atomic { unlocks = acc; acc = 0 };
#ifndef BROKEN_NO_RELOAD
	n = nr_cpus;
#endif
	sum_locks(idx);
	locks = acc;
#endif
	/* Dead locals cleared with the result, so equal states merge. */
	atomic { drained = (locks == unlocks); n = 0; c = 0; acc = 0; locks = 0; unlocks = 0 }
}

inline wait_drained(idx)
{
	scan(idx);
	if
	:: drained -> skip
	:: else ->
		do
		:: gp_queued = true;        /* prepare_to_wait */
		   scan(idx);
		   if
		   :: drained -> break
		   :: else -> gp_woken; gp_woken = false
		   fi
		od;
		atomic { gp_queued = false; gp_woken = false }   /* finish_wait */
	fi
}

proctype updater()
{
	byte g = 1, done, n, c, acc, locks, unlocks;
	bool drained;
	do
	:: g <= GPS ->
		ptr = g;                               /* srcu_assign_pointer */
		done = completed;
#ifndef BROKEN_NO_STRAGGLER_WAIT
		wait_drained((done + 1) & 1);
#endif
		completed = done + 1;                  /* the flip */
		wait_drained(done & 1);
		poisoned[g - 1] = true;                /* the caller frees the old version */
		g++
	:: else -> break
	od
}

init
{
	byte i;
	atomic {
		i = 0;
		do
		:: i < READERS -> run reader(); i++
		:: else -> break
		od;
		run updater()
	}
}

/*
 * Model 4, "inval_swap": host-side invalidations of guest backing (KVM's
 * MMU-notifier protocol) against a swap of the VM's slot arrays, and the
 * guest fault path that must not map what an invalidation is taking away.
 * docs/models.md explains what it proves and how to run it
 * (tools/run-models.py, `make model`).
 *
 * What it abstracts, by C function (core/virt/mmu_invalidate.c):
 *
 *     mmu_invalidate_range_start  inval_start(): under the VM spinlock
 *                                 active_invalidations++ (before anything
 *                                 looks at the slots); look the range up in
 *                                 the active slot array; if it hits a slot,
 *                                 under the MMU lock in_progress++ (and the
 *                                 range is added) and the mappings are zapped
 *     mmu_invalidate_range_end    inval_end(): look the range up in the active
 *                                 array again; if it hits, under the MMU lock
 *                                 seq++ then in_progress--; under the spinlock
 *                                 active_invalidations--, waking a waiting
 *                                 swapper at zero
 *     mmu_invalidate_fault_seq,   fault(): read seq before resolving the host
 *     mmu_invalidate_retry_gfn    frame; under the MMU lock, retry when an
 *                                 invalidation whose range covers the gfn is
 *                                 in progress or seq moved since
 *     mmu_invalidate_swap_slots   swapper(): under the spinlock, wait until
 *                                 active_invalidations == 0 and publish the
 *                                 new array in that same critical section
 *   (the code's MMU_INVAL_RWSEM and MMU_INVAL_NOWAIT modes are BROKEN_RWSEM
 *   and BROKEN_SWAP_NO_WAIT below)
 *   the host code that moves or   nested(), single(): a start/end pair around
 *   reclaims backing frames       the change of the frame behind the guest's
 *                                 region; one task nests a second pair inside
 *                                 its first
 *   the nested-fault handler      fault(): read seq, resolve the frame, map
 *                                 it under the MMU lock unless told to retry
 *
 * Not modelled: the ranges' arithmetic (two regions: G, in a slot in both
 * arrays, the guest's memory whose frame moves; X, in a slot in one array
 * only, which the swap adds or deletes; the in-progress range is one bit,
 * "covers G", set by a counted G start and cleared when in_progress returns
 * to zero: the C code's union of ranges, rounded out, covers G at least
 * then, so its faults retry at least as often as the model's), SRCU (the fault looks G
 * up in whichever array is active: G is the same in both; the grace period
 * before the old array is reused is the SRCU code's own business), memory
 * ordering beyond sequential consistency (the C code's barriers, seq++ before
 * in_progress-- and the fault's read of seq before the frame, order exactly
 * what the interleavings here already order), the swap's starvation (the
 * counter is unfair on purpose: a start never waits for a queued swap, so a
 * stream of invalidations can delay a swap for ever; Spin checks no fairness
 * here and the C code says so).
 *
 * Bounds: one task with two nested pairs (X outside, G inside), NSINGLE
 * tasks with one pair on G (default 1), SWAPS swaps (default 1; X added or
 * deleted first: both are explored), one vCPU making FAULTS faults on G (default 1); the frame
 * behind G changes once in every G pair.
 *
 * Properties:
 *   pair_saw_two_arrays    every start/end pair looks its range up in one
 *                          and the same slot array
 *   in_progress_underflow  an end never decrements in_progress from zero
 *   in_progress_leak       in_progress is zero whenever no pair is open
 *   stale_mapping          no mapping of a frame other than the current one:
 *                          the frame never changes while mapped, and a fault
 *                          never maps a frame it resolved before a change
 *   deadlock               no invalid end state: nested starts with a queued
 *                          swap, the swap, the fault all get through
 *
 * Switches (-D to spin -a): the broken variants that Spin must reject.
 *   BROKEN_RWSEM              start/end take a fair (writer-preferring)
 *                             rw-semaphore for read, the swap for write
 *   BROKEN_SWAP_NO_WAIT       the swap publishes without waiting for the
 *                             invalidations to end
 *   BROKEN_PUBLISH_LATER      the swap waits for zero, drops the spinlock,
 *                             and publishes in a second critical section
 *   BROKEN_COUNT_AFTER_LOOKUP start counts itself after looking the slots up
 *   BROKEN_NO_SEQ             the fault path rechecks in_progress only, not
 *                             seq
 *   BROKEN_SEQ_LATE           the fault path reads seq after resolving the
 *                             frame (what a missing read barrier allows)
 *   BROKEN_RANGE_RESET        an end that hits takes its own range out of
 *                             the in-progress range (instead of resetting
 *                             it when in_progress reaches zero)
 *   NO_PAIR_CHECK             (with a broken swap) leave pair_saw_two_arrays
 *                             out, to show what the imbalance does
 */

#ifndef NSINGLE
#define NSINGLE 1
#endif
#ifndef FAULTS
#define FAULTS 1
#endif
#ifndef SWAPS
#define SWAPS 1
#endif

#define G 0                  /* the guest's region: in a slot in both arrays */
#define X 1                  /* in a slot in one array only */
#define NONE 0               /* no mapping */

/* ---- slots ---- */
byte slots;                  /* the active array: 0 or 1 */
byte x_in;                   /* the array in which X has a slot */

/* ---- invalidation state ---- */
byte active_inv;             /* active_invalidations (VM spinlock) */
byte in_progress;            /* mmu_invalidate_in_progress (MMU lock) */
byte seq;                    /* mmu_invalidate_seq (MMU lock) */
byte readers;                /* BROKEN_RWSEM: read holders */
bool writer;                 /* BROKEN_RWSEM: a writer holds or waits */

/* ---- memory ---- */
byte backing = 1;            /* the host frame behind G (a version) */
byte mapped = NONE;          /* the guest mapping of G (a frame, or NONE) */
bool range_g;                /* G is in the in-progress range (MMU lock) */

/* ---- ghosts (no C counterpart: they state the properties) ---- */
byte open;                   /* started pairs not ended */
bool pair_saw_two_arrays;
bool in_progress_underflow;
bool in_progress_leak;
bool stale_mapping;

#define HITS(r, s) ((r) == G || (s) == x_in)

inline inval_start(r, s, h)
{
#if defined(BROKEN_RWSEM)
	atomic { !writer -> readers++; open++ };
	s = slots;
#elif defined(BROKEN_COUNT_AFTER_LOOKUP)
	s = slots;
	atomic { active_inv++; open++ };
#else
	atomic { active_inv++; open++ };      /* spinlock */
	s = slots;
#endif
	h = HITS(r, s);
	if
	:: h -> atomic {                  /* MMU lock: count, widen the range, zap */
		in_progress++;
		if :: r == G -> range_g = true; mapped = NONE :: else fi
	   }
	:: else
	fi
}

inline inval_end(r, s, h)
{
	t = slots;
#ifndef NO_PAIR_CHECK
	pair_saw_two_arrays = (t != s);
	assert(!pair_saw_two_arrays);
#endif
	h = HITS(r, t);
	if
	:: h -> atomic {                  /* MMU lock */
		seq++;
		in_progress_underflow = (in_progress == 0);
		assert(!in_progress_underflow);
		in_progress--;
#ifdef BROKEN_RANGE_RESET
		if :: r == G -> range_g = false :: else fi
#else
		if :: in_progress == 0 -> range_g = false :: else fi   /* the range is reset at zero only */
#endif
	   }
	:: else
	fi;
	atomic {
#ifdef BROKEN_RWSEM
		readers--;
#else
		active_inv--;                 /* spinlock; wakes the swapper at 0 */
#endif
		open--;
		in_progress_leak = (open == 0 && in_progress != 0);
		assert(!in_progress_leak)
	}
}

/* The host changes the frame behind G inside a G pair. */
inline move_frame()
{
	atomic { stale_mapping = (mapped != NONE); assert(!stale_mapping); backing++ }
}

/* Two pairs nested in one task: X outside, G inside. */
proctype nested()
{
	byte s1, s2, t;
	bool h1, h2;
	inval_start(X, s1, h1);
	inval_start(G, s2, h2);
	move_frame();
	inval_end(G, s2, h2);
	inval_end(X, s1, h1)
}

proctype single()
{
	byte s, t;
	bool h;
	inval_start(G, s, h);
	move_frame();
	inval_end(G, s, h)
}

proctype swapper()
{
	byte n = SWAPS;
	do
	:: n > 0 ->
		n--;
#if defined(BROKEN_RWSEM)
		atomic { !writer -> writer = true };   /* down_write: queued, keeps new readers out */
		readers == 0;
		slots = 1 - slots;
		writer = false
#elif defined(BROKEN_SWAP_NO_WAIT)
		slots = 1 - slots
#elif defined(BROKEN_PUBLISH_LATER)
		active_inv == 0;                       /* then the spinlock is dropped */
		slots = 1 - slots
#else
		atomic { active_inv == 0 -> slots = 1 - slots }
#endif
	:: else -> break
	od
}

/* The nested-fault handler on G, FAULTS times (each mapping is used until an
 * invalidation zaps it; a retry is a new fault). */
proctype fault()
{
	byte n = FAULTS, mseq, pfn;
	do
	:: n > 0 ->
#ifdef BROKEN_SEQ_LATE
		pfn = backing;
		mseq = seq;
#else
		mseq = seq;                    /* before resolving the frame */
		pfn = backing;                 /* resolve the host frame (may sleep) */
#endif
		atomic {                       /* MMU lock, mmu_invalidate_retry */
			if
#ifdef BROKEN_NO_SEQ
			:: in_progress > 0 && range_g -> skip
#else
			:: (in_progress > 0 && range_g) || seq != mseq -> skip
#endif
			:: else ->
				stale_mapping = (pfn != backing);
				mapped = pfn;
				n--
			fi
		};
		assert(!stale_mapping)
	:: else -> break
	od
}

init
{
	byte i;
	atomic {
		if
		:: x_in = 0          /* the swap deletes X */
		:: x_in = 1          /* the swap adds X */
		fi;
		run nested();
		i = 0;
		do
		:: i < NSINGLE -> run single(); i++
		:: else -> break
		od;
		run swapper();
		run fault()
	}
}

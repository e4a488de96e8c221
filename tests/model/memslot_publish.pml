/*
 * The "memslot_publish" model: the two slot sets of a VM and the publish
 * step of core/virt/memslot_pair.c, against readers (vCPUs resolving a
 * fault, `vm mem`).  docs/models.md explains what it proves and how to run
 * it (tools/run-models.py, `make model`).
 *
 * What it abstracts, by C function:
 *
 *   memslot_pair_update       updater(): apply the change to the inactive
 *                             set, swap the active pointer, wait for the
 *                             readers, copy the new set over the old one
 *                             (dropping the old set's references: a frame
 *                             no set holds any more is freed)
 *   memslot_txn_apply         the change: the one slot's range gets a new
 *                             backing frame (a delete and an add of the same
 *                             range in one transaction); the range stays
 *                             covered in the new set
 *   publish_naive             -DNAIVE: the old set without the deleted slot
 *                             is published (and waited for) first
 *   wait_readers              wait_readers(): for each reader, if its count
 *                             is odd (inside), wait until it moves -- the
 *                             grace period of tests/unit/test_memslot_threads.c,
 *                             and what SRCU's synchronize guarantees
 *   memslot_pair_active,      reader(): count odd (inside), load the active
 *   memslot_lookup,           set, find the range's frame, read it (a later
 *   memslot_read              step), count even (outside)
 *
 * A set is reduced to the frame that backs the range (NONE: no slot there).
 * Frames are never reused (one per update), so a read of a freed frame is
 * seen as such, not as a read of whatever reused it.
 *
 * Not modelled: memory ordering beyond sequential consistency (the C code
 * swaps with a release store, readers load with acquire, and the grace
 * period is ordered after the swap by a full barrier -- a read-modify-write
 * in the host test, smp_mb in SRCU), the other slots, inhibition (it holds
 * vCPUs out of the guest, not readers out of the slots).
 *
 * Bounds: READERS readers (default 2) reading until the updater is done,
 * UPDATES updates (default 2).
 *
 * Properties:
 *   range_missing   a reader never finds the range without a slot
 *   read_freed      a reader never reads a frame after it was freed
 *
 * Switches (-D to spin -a):
 *   NAIVE                    memslot_update=naive: deletes, then adds
 *   BROKEN_FREE_BEFORE_WAIT  the old set is brought up to date (its frames
 *                            dropped) before the wait for readers
 *   BROKEN_NO_WAIT           no wait for readers at all
 */

#ifndef READERS
#define READERS 2
#endif
#ifndef UPDATES
#define UPDATES 2
#endif
#define NFRAMES (UPDATES + 1)
#define NONE 255
#define MIDDLE 2             /* the naive update's middle set */

byte cur = 0;             /* memslot_pair.active: set 0 or 1 (or MIDDLE) */
byte frame[3];               /* per set: the frame backing the range, or NONE */
byte refs[NFRAMES];          /* sets holding each frame */
bool alive[NFRAMES];         /* allocated, not freed */
byte seq[READERS];           /* each reader's section count, modulo 4 (odd: inside) */
bool done;

/* ghosts */
bool range_missing;
bool read_freed;

inline put(f)
{
	if
	:: f != NONE ->
		refs[f]--;
		if
		:: refs[f] == 0 -> alive[f] = false
		:: else -> skip
		fi
	:: else -> skip
	fi
}

inline get(f)
{
	if
	:: f != NONE -> refs[f]++
	:: else -> skip
	fi
}

inline wait_readers()
{
	r = 0;
	do
	:: r < READERS ->
		v = seq[r];
		if
		:: v % 2 == 1 -> (seq[r] != v)
		:: else -> skip
		fi;
		r++
	:: else -> break
	od
}

/* memslot_set_copy(old, new): take new's references, drop old's. */
inline bring_up_to_date(old, new)
{
	get(frame[new]);
	put(frame[old]);
	frame[old] = frame[new]
}

proctype reader(byte me)
{
	byte s, f;
	do
	:: done -> break
	:: else ->
		seq[me] = (seq[me] + 1) % 4;        /* inside */
		s = cur;
		f = frame[s];
		if
		:: f == NONE -> range_missing = true
		:: else -> skip
		fi;
		assert(!range_missing);
		if
		:: f != NONE ->
			if
			:: !alive[f] -> read_freed = true
			:: else -> skip
			fi;
			assert(!read_freed)
		:: else -> skip
		fi;
		seq[me] = (seq[me] + 1) % 4         /* outside */
	od
}

proctype updater()
{
	byte i, old, new, nf, r, v;
	for (i : 1 .. UPDATES) {
		old = cur;
		new = 1 - old;
		nf = i;                      /* a fresh frame */
		alive[nf] = true;
		/* apply to the inactive set (a copy of the active one) */
		put(frame[new]);
		frame[new] = nf;
		refs[nf]++;
#ifdef NAIVE
		frame[MIDDLE] = NONE;        /* the old set without the deleted slot */
		cur = MIDDLE;
		wait_readers();
#endif
		cur = new;
#ifdef BROKEN_FREE_BEFORE_WAIT
		bring_up_to_date(old, new);
		wait_readers();
#else
#ifndef BROKEN_NO_WAIT
		wait_readers();
#endif
		bring_up_to_date(old, new);
#endif
	}
	done = true
}

init
{
	byte k;
	atomic {
		frame[0] = 0;
		frame[1] = 0;
		frame[MIDDLE] = NONE;
		refs[0] = 2;
		alive[0] = true;
		for (k : 0 .. READERS - 1) {
			run reader(k)
		}
		run updater()
	}
}

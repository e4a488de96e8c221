/*
 * Model 3, "memslot_update": the atomic slot update (after QEMU's "kvm:
 * Atomic memslot updates", 2023) against vCPUs entering and leaving the guest
 * and a CPU going offline.  docs/models.md explains what it proves and how to
 * run it (tools/run-models.py, `make model`).
 *
 * Changing a slot in place (move, resize, split, merge) is a delete and an
 * add.  A vCPU that runs between the two finds no slot where the guest has
 * memory and takes a spurious MMIO exit.  So a transaction whose deleted
 * ranges overlap its added ones inhibits vCPU entries around them.
 *
 * What it abstracts, by C function:
 *
 *   core/virt/vm_gate.c, core/virt/vcpu.c (run_once, blocked_at_gate)
 *     vm_gate_enter              vcpu(): set the in-entry indicator (count on
 *                                the VM's gate, seq_cst); if the gate is
 *                                closed (an inhibition is on), drop it again,
 *                                waking an updater waiting for it, and park
 *                                (blocked_at_gate: asleep on the vCPU's request
 *                                wait queue, holding nothing) until the gate
 *                                opens, then retry; else vcpu_load, and with
 *                                interrupts off the mode store and re-check of
 *                                the requests (vcpu_enter_guest_mode: Model 2
 *                                proves that handshake, here it is one step),
 *                                enter
 *     vm_gate_leave              vcpu(): after vcpu_handle_exit (which looks
 *                                the faulting address up in the slots), drop
 *                                the indicator and wake an updater waiting for
 *                                the last one
 *     the vCPU task's loop       vcpu(): handle requests (VCPU_REQ_SLOTS only
 *     (vcpu_main)                brings it out), enter, run the guest until a
 *                                kick or an exit of its own, handle the exit;
 *                                a vCPU that finds itself on another CPU than
 *                                last time takes cpus_read_lock between its
 *                                indicator and its entry (as a cross-CPU
 *                                VMCLEAR on its old CPU under the hotplug read
 *                                lock would; the real vcpu_load makes that
 *                                call with preemption off and no lock: the
 *                                model allows more waiting than the code does,
 *                                and BROKEN_HOTPLUG_LOCK shows why the updater
 *                                must hold nothing a vCPU may wait for inside
 *                                its indicator)
 *   core/virt/memslot_pair.c, memslot_vm.c, vm_gate.c
 *     memslot_pair_update        updater(): under the slots lock, when a
 *     -> inhibit(on)             deleted range overlaps an added one:
 *        = vm_gate_close         close the gate, make VCPU_REQ_SLOTS of every
 *          (gate_kick)           vCPU and kick it (an IPI to those in guest
 *                                mode), sleep until no indicator is set;
 *     -> publish                 apply the deletes (the slots are half
 *                                changed), the adds (one pointer swap, the
 *                                zap, the SRCU wait);
 *     -> inhibit(off)            open the gate and wake the blocked vCPUs
 *        = vm_gate_open (gate_wake)
 *   core/hotplug/hotplug.c  cpu_down, cpu_up: offline() (cpus_write_lock; the
 *                       CPU stops taking tasks; the vCPU push step sends each
 *                       vCPU on it a reschedule request + IPI and moves it
 *                       once it is preemptible, i.e. out of the guest; the
 *                       virt teardown then disables the CPU; optionally the
 *                       CPU comes back with cpu_up)
 *   the scheduler       migrator(): moves a preemptible vCPU task to another
 *                       online CPU (at most MIGRATIONS times)
 *   core/sync/cpuhp_lock.c  cpus_read_lock/cpus_write_lock: a reader count
 *                       and a writer flag that keeps new readers out (the
 *                       writer preference of percpu_down_write, as in Model 1)
 *
 * Not modelled: the slots themselves (one region the guest uses, moved by a
 * delete and an add; `half` is true between the two: it stands for the window
 * the inhibition protects, which, where one new array is published with a
 * pointer swap, runs from the publish to the end of the grace period and the
 * zap of the deleted slots' mappings), SRCU (the slot lookup
 * in the exit handling is one step on the current array),
 * transactions that do not overlap (they never inhibit and cannot make a
 * region vanish), the request/kick handshake's steps (Model 2), memory
 * ordering beyond sequential consistency (the indicator and the inhibition
 * flag are seq_cst atomics: a store-then-load on each side), the slots lock
 * (one updater here: it orders updaters only), the wait queues (a sleeper
 * is a guard on the condition it waits for: no lost wake-up, the pattern
 * Model 2 checks), suspend and reboot.
 *
 * Bounds: NCPU = 2 CPUs (CPU 0 never goes offline; CPU 1 goes offline once
 * and then, with HOTPLUG_OPS = 2, the default, online again); NVCPU = 2
 * vCPUs (one starting on each CPU), each making at most SPONT exits of its
 * own (default 1) besides the kicks; UPDATES overlapping transactions
 * (default 1); at most MIGRATIONS scheduler moves (default 1).
 *
 * Properties:
 *   half_update_seen   no vCPU is in guest mode, nor looks the slots up in
 *                      its exit handling, while the slots are half changed
 *                      (checked where the update starts and wherever a vCPU
 *                      enters or looks up)
 *   guest_on_dying_cpu the offline's virt teardown finds no vCPU in guest
 *                      mode (or with interrupts off for its entry) on the CPU
 *   deadlock           no invalid end state: the updater, the offline and
 *                      every vCPU blocked at entry get through; a vCPU ends
 *                      only in guest mode (the guest runs on for ever)
 *   ltl reenter        every vCPU is in guest mode again and again (with the
 *                      bounded exits: it ends in guest mode), so an
 *                      inhibition or an offline never leaves it parked
 *
 * Switches (-D to spin -a): the broken variants that Spin must reject.
 *   BROKEN_NO_INHIBIT        the update is a naive delete then add
 *   BROKEN_EARLY_CLEAR       the vCPU clears its indicator as soon as the
 *                            guest has exited, before the exit is handled
 *   BROKEN_KICK_NO_REQUEST   the updater only IPIs the vCPUs it sees in guest
 *                            mode, without a request: one between its
 *                            indicator and its entry enters and stays
 *   BROKEN_HOTPLUG_LOCK      the updater holds cpus_read_lock while it waits
 *                            (say, to keep the CPUs it kicks online)
 *   BROKEN_SLEEP_IN_ENTRY    a vCPU blocked at entry sleeps with its
 *                            indicator still set
 */

#ifndef NVCPU
#define NVCPU 2
#endif
#define NCPU 2
#ifndef SPONT
#define SPONT 1
#endif
#ifndef UPDATES
#define UPDATES 1
#endif
#ifndef MIGRATIONS
#define MIGRATIONS 1
#endif
#ifndef HOTPLUG_OPS
#define HOTPLUG_OPS 2
#endif

#define REQ_KICK    1        /* the updater's request (handled as "nothing to do") */
#define REQ_RESCHED 2        /* the offline push: the task is to be moved */

/* ---- vCPUs ---- */
byte cpu[NVCPU];             /* the CPU the vCPU task is on */
byte requests[NVCPU];        /* vcpu requests (and need_resched) */
bool in_entry[NVCPU];        /* the in-entry indicator */
bool irqoff[NVCPU];          /* from the entry's mode store to the exit: not preemptible */

/* ---- the update ---- */
bool inhibit;                /* entries inhibited */

/* ---- CPUs ---- */
bool online[NCPU];
byte hp_readers;             /* cpus_read_lock holders */
bool hp_block;               /* a writer holds or waits for cpus_write_lock */

/* ---- ghosts (no C counterpart: they state the properties) ---- */
bool in_guest[NVCPU];        /* the guest runs */
bool half;                   /* the deletes are applied, the adds are not */
bool half_update_seen;
bool guest_on_dying_cpu;
byte migrations = MIGRATIONS;

inline cpus_read_lock()    { atomic { !hp_block -> hp_readers++ } }
inline cpus_read_unlock()  { assert(hp_readers > 0); hp_readers-- }
inline cpus_write_lock()   { atomic { !hp_block -> hp_block = true }; hp_readers == 0 }
inline cpus_write_unlock() { hp_block = false }

#if NVCPU == 1
#define ANY_IN_ENTRY (in_entry[0])
#define ANY_IN_GUEST (in_guest[0])
#elif NVCPU == 2
#define ANY_IN_ENTRY (in_entry[0] || in_entry[1])
#define ANY_IN_GUEST (in_guest[0] || in_guest[1])
#else
#error "ANY_IN_ENTRY is written out for 1 or 2 vCPUs"
#endif

proctype vcpu(byte v)
{
	byte spont = SPONT;
	byte last = cpu[v];      /* the CPU its VMCS was last loaded on */
	do
	:: /* loop top, preemptible: a pending reschedule keeps the task
	    * off the CPU until the scheduler has moved it; the other
	    * requests are handled (nothing to do for REQ_KICK) */
	   atomic { (requests[v] & REQ_RESCHED) == 0 -> requests[v] = 0 };

	   /* vcpu_enter_guest_mode: indicator first, then the inhibition */
	   in_entry[v] = true;
	   if
	   :: inhibit ->
#ifdef BROKEN_SLEEP_IN_ENTRY
		!inhibit;                /* sleeps with its indicator set */
		in_entry[v] = false;
#else
		in_entry[v] = false;     /* and wake the inhibitor */
		!inhibit;                /* sleep until the inhibition ends */
#endif
		goto retry
	   :: else
	   fi;

	   /* moved since the last entry: VMCLEAR on the old CPU by a
	    * cross-CPU call, under cpus_read_lock */
	   if
	   :: last != cpu[v] ->
		cpus_read_lock();
		last = cpu[v];
		cpus_read_unlock()
	   :: else
	   fi;

	   /* interrupts off: mode store and request re-check (Model 2) */
	   atomic {
		if
		:: requests[v] != 0 -> skip
		:: else ->
			irqoff[v] = true;
			in_guest[v] = true;
			half_update_seen = half
		fi
	   };
	   if
	   :: !irqoff[v] ->               /* cancelled: back to the loop top */
		in_entry[v] = false;
		goto retry
	   :: else
	   fi;
	   assert(!half_update_seen);

	   /* the guest runs until kicked (a request's IPI) or an exit of
	    * its own; it may run for ever */
end_guest:
	   if
	   :: atomic { requests[v] != 0 -> in_guest[v] = false }
	   :: atomic { spont > 0 -> spont--; in_guest[v] = false }
	   fi;
	   irqoff[v] = false;              /* mode OUTSIDE, interrupts on */
#ifdef BROKEN_EARLY_CLEAR
	   in_entry[v] = false;
#endif
	   /* the exit handling looks the faulting address up in the slots */
	   atomic { half_update_seen = half; assert(!half_update_seen) };
#ifndef BROKEN_EARLY_CLEAR
	   in_entry[v] = false;            /* vcpu_exit_guest_mode */
#endif
retry:	   skip
	od
}

/* The slot transaction's commit, for a transaction whose deleted ranges
 * overlap its added ones (under the slots lock). */
proctype updater()
{
	byte n = UPDATES, v;
	do
	:: n > 0 ->
		n--;
#ifdef BROKEN_HOTPLUG_LOCK
		cpus_read_lock();
#endif
#ifndef BROKEN_NO_INHIBIT
		inhibit = true;
		v = 0;
		do
		:: v < NVCPU ->
#ifdef BROKEN_KICK_NO_REQUEST
			atomic { if :: in_guest[v] -> requests[v] = requests[v] | REQ_KICK :: else fi };
#else
			requests[v] = requests[v] | REQ_KICK;   /* vcpu_make_request + vcpu_kick */
#endif
			v++
		:: else -> v = 0; break
		od;
		!ANY_IN_ENTRY;                                   /* sleep until none is inside */
#endif
		atomic { half_update_seen = ANY_IN_GUEST; assert(!half_update_seen); half = true };  /* every delete */
		half = false;                                    /* every add */
		inhibit = false;                                 /* and wake the blocked vCPUs */
#ifdef BROKEN_HOTPLUG_LOCK
		cpus_read_unlock();
#endif
	:: else -> break
	od
}

/* cpu_down(1), then (HOTPLUG_OPS == 2) cpu_up(1). */
proctype offline()
{
	byte v;
	cpus_write_lock();
	online[1] = false;          /* inactive: the scheduler puts nothing there */
	v = 0;
	do
	:: v < NVCPU ->
		if
		:: cpu[v] == 1 ->
			requests[v] = requests[v] | REQ_RESCHED;     /* resched + IPI */
			atomic { !irqoff[v] -> cpu[v] = 0; requests[v] = requests[v] & ~REQ_RESCHED }
		:: else
		fi;
		v++
	:: else -> v = 0; break
	od;
	/* the virt teardown disables CPU 1 (VMCLEAR of what is loaded there) */
	atomic {
		do
		:: v < NVCPU -> guest_on_dying_cpu = guest_on_dying_cpu || (cpu[v] == 1 && irqoff[v]); v++
		:: else -> break
		od;
		assert(!guest_on_dying_cpu)
	};
	cpus_write_unlock();
#if HOTPLUG_OPS > 1
	cpus_write_lock();
	online[1] = true;
	cpus_write_unlock();
#endif
}

/* The scheduler's load balancing: a preemptible vCPU task moves to the other
 * CPU when that one is online. */
proctype migrator()
{
	do
	:: atomic { migrations > 0 && !irqoff[0] && (requests[0] & REQ_RESCHED) == 0 && online[1 - cpu[0]] ->
		cpu[0] = 1 - cpu[0]; migrations-- }
#if NVCPU > 1
	:: atomic { migrations > 0 && !irqoff[1] && (requests[1] & REQ_RESCHED) == 0 && online[1 - cpu[1]] ->
		cpu[1] = 1 - cpu[1]; migrations-- }
#endif
	:: migrations == 0 -> break
	:: break
	od
}

#if NVCPU == 1
ltl reenter { [] <> in_guest[0] }
#else
ltl reenter { ([] <> in_guest[0]) && ([] <> in_guest[1]) }
#endif

init
{
	byte i;
	atomic {
		online[0] = true;
		online[1] = true;
		i = 0;
		do
		:: i < NVCPU -> cpu[i] = i % NCPU; run vcpu(i); i++
		:: else -> break
		od;
		run updater();
#if HOTPLUG_OPS > 0
		run offline();
#endif
		run migrator()
	}
}

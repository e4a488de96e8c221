/*
 * Model 1, "enabling": the virtualization usage count against CPU hotplug,
 * suspend and reboot, as the C code does it.  docs/models.md explains what it
 * proves and how to run it (tools/run-models.py, `make model`).
 *
 * What it abstracts, by C function:
 *
 *   core/virt/usage.c
 *     virt_get, virt_get_locked     user(): cpus_read_lock, usage_lock, count++,
 *                                   0 -> 1 enables on every online CPU
 *     virt_put, virt_put_locked     user(): the mirror image, 1 -> 0 disables
 *     enable_all, disable_all,      enable_all()/disable_all(): on_each_cpu with
 *     enable_ipi, disable_ipi       one atomic step per online CPU (an IPI
 *                                   handler runs with interrupts off, so it is
 *                                   indivisible on its CPU); any failure rolls
 *                                   every CPU back
 *     enable_this_cpu,              enable_ipi_on()/disable_on(); the
 *     disable_this_cpu,             compatibility check, VMXON/EFER.SVME and
 *     virt_check_this_cpu           fault injection are one nondeterministic
 *                                   "this CPU fails" (at most MAX_FAILURES)
 *     virt_cpu_online,              virt_cpu_online()/virt_cpu_offline(): the
 *     virt_cpu_offline              ONLINE-section callback ("virt:online",
 *                                   registered by virt_init) under usage_lock;
 *                                   its enable runs with preemption off but
 *                                   interrupts on, so it is two steps
 *     virt_syscore_suspend/resume   suspend(): one atomic block (boot CPU,
 *                                   interrupts off, every other CPU offline;
 *                                   run by syscore_suspend/syscore_resume)
 *     virt_reboot, reboot_lock      rebooter(): (the reboot notifier, run by
 *                                   reboot_notify) latches `rebooting` under both
 *                                   locks, disables every online CPU
 *     usage_invariant (`check`)     the monitor process below
 *   core/virt/vm.c      vm_create, vm_destroy: user() (the VM-list insert and
 *                       removal are not modelled: they nest no other lock)
 *   core/virt/virt_selftest.c  clock_change_notifier: notifier()
 *   core/hotplug/hotplug.c     cpu_up, cpu_down, hotplug_walk, do_cpu_up,
 *                       online_up (a later ONLINE step's veto runs the virt
 *                       teardown), kill_cpu: cpu_up()/cpu_down() in console()
 *   core/sync/cpuhp_lock.c, core/sync/percpu_rwsem.c  cpus_read_lock and
 *                       cpus_write_lock: a counter of readers and a `block`
 *                       flag; a writer that has set block (pending or holding)
 *                       keeps new readers out, as percpu_down_write does
 *   core/power/suspend.c, freezer.c  suspend_cycle, freeze_tasks,
 *                       try_to_freeze, online_again: suspend()
 *   core/system_cmds.c  leave_virtualization (reboot, poweroff): rebooter()
 *
 * Not modelled: core/panic_stop.c (NMI emergency disable stops every CPU; no
 * locks, nothing runs after it), timeouts (reboot_lock's 5 s deadline,
 * freeze_tasks' 5 s, kill_cpu's 10 s: each holder is assumed to finish), a
 * failing re-enable at resume (the C code warns and the invariant breaks by
 * design), memory-allocation failures, PREPARE/STARTING steps other than
 * marking the CPU online/offline.
 *
 * Bounds: NCPU CPUs (default 3: the boot CPU 0, which never goes offline, and
 * two others), NUSER freezable VM threads (default 2) doing ROUNDS
 * vm_create/vm_destroy each (default 1), the console thread doing up to
 * HOTPLUG_OPS cpu online/offline (default 2) and at most one suspend, one
 * reboot from another thread, one notifier, at most MAX_FAILURES failing
 * enables or ONLINE vetoes in a run (default 1).  With OLD_VMLIST_DESIGN the
 * reboot is left out: its trylock loop with a deadline cannot deadlock, the
 * model's blocking lock would.
 *
 * Properties:
 *   monitor      at every state with no operation in flight, every online CPU
 *                has enabled == (count > 0), offline CPUs are disabled, and
 *                count equals the references held (after a reboot: every CPU
 *                disabled)
 *   deadlock     no invalid end state: every process runs to its end
 *   suspend      syscore never runs while an enable is under way, nor while
 *                anyone but a reboot holds usage_lock (see the comment there),
 *                and only with the boot CPU online
 *   reboot       no CPU is enabled once the reboot has disabled them all
 *
 * Switches (-D to spin -a): the broken variants that Spin must reject.
 *   BROKEN_NO_ROLLBACK      enable_all does not roll back after a failure
 *   BROKEN_COUNT_UNLOCKED   virt_get/virt_put touch the count without usage_lock
 *   BROKEN_NO_FREEZE        suspend does not freeze the VM threads
 *   BROKEN_REBOOT_UNLOCKED  virt_reboot latches and disables without the locks
 *   OLD_VMLIST_DESIGN       the old design (replayed by the virt_lock_order
 *                           self-test, core/virt/lock_order_replay.c; not in
 *                           the production path): the count under
 *                           vm_list_lock, taken outside cpus_read_lock
 *                           (vm_create's old path) and by the hotplug callbacks
 *   OLD_NOTIFIER_ONLY       with OLD_VMLIST_DESIGN: the hotplug callbacks take
 *                           no VM-list lock, so only the notifier closes the
 *                           cycle
 */

#ifndef NCPU
#define NCPU 3
#endif
#ifndef NUSER
#define NUSER 2
#endif
#ifndef ROUNDS
#define ROUNDS 1
#endif
#ifndef HOTPLUG_OPS
#define HOTPLUG_OPS 2
#endif
#ifndef MAX_FAILURES
#define MAX_FAILURES 1
#endif

/* ---- machine state ---- */
bool online[NCPU];
bool virt_on[NCPU];          /* cpu_table[c].virt_enabled (and the hardware) */
byte count;                  /* usage_count */
bool rebooting;              /* usage.c's rebooting latch */
byte failures_left = MAX_FAILURES;

/* ---- locks: 0 free, else the owner's _pid + 1 ---- */
byte usage_lock;
byte vm_list_lock;
byte hp_readers;             /* cpus_read_lock holders */
bool hp_block;               /* a writer holds or waits for cpus_write_lock */

/* ---- freezer ---- */
bool freezing;
byte freezable = NUSER;      /* live freezable tasks */
byte frozen;

/* ---- ghosts (no C counterpart: they state the properties) ---- */
byte inflight;               /* operations that may leave the invariant broken */
byte enabling;               /* enables under way (fan-out or ONLINE callback) */
byte holders;                /* references held by the users */
bool reboot_done;            /* the reboot's disable fan-out is complete */
byte rebooter_pid = 255;
bool usage_invariant = true; /* cleared by the monitor when it sees it broken */

#define ME (_pid + 1)

inline mutex_lock(m)   { atomic { m == 0 -> m = ME } }
inline mutex_unlock(m) { assert(m == ME); m = 0 }
inline cpus_read_lock()   { atomic { !hp_block -> hp_readers++ } }
inline cpus_read_unlock() { assert(hp_readers > 0); hp_readers-- }
inline cpus_write_lock()  { atomic { !hp_block -> hp_block = true }; hp_readers == 0 }
inline cpus_write_unlock() { hp_block = false }

#ifdef OLD_VMLIST_DESIGN
#define count_lock vm_list_lock
#else
#define count_lock usage_lock
#endif
#if defined(OLD_VMLIST_DESIGN) && defined(OLD_NOTIFIER_ONLY)
#define callback_lock usage_lock
#else
#define callback_lock count_lock
#endif

/* ---- per CPU ---- */

/* enable_this_cpu from an IPI (or syscore): interrupts off, indivisible. */
inline enable_ipi_on(cpu, ok)
{
	atomic {
		if
		:: virt_on[cpu] -> ok = true
		:: else ->
			if
			:: rebooting -> ok = false
			:: else ->
				if
				:: failures_left > 0 -> failures_left--; ok = false
				:: true -> assert(!reboot_done); virt_on[cpu] = true; ok = true
				fi
			fi
		fi
	}
}

inline disable_on(cpu) { virt_on[cpu] = false }

/* on_each_cpu(enable_ipi) then, on a failure, on_each_cpu(disable_ipi).
 * The online set is stable: the caller holds cpus_read_lock. */
inline enable_all(ok)
{
	failed = false;
	i = 0;
	do
	:: atomic {
		i < NCPU ->
		if
		:: online[i] -> enable_ipi_on(i, ok); if :: !ok -> failed = true :: else fi
		:: else
		fi;
		i++
	   }
	:: i >= NCPU -> i = 0; break
	od;
#ifndef BROKEN_NO_ROLLBACK
	if
	:: failed -> disable_all()
	:: else
	fi;
#endif
	ok = !failed
}

inline disable_all()
{
	i = 0;
	do
	:: atomic { i < NCPU -> if :: online[i] -> disable_on(i) :: else fi; i++ }
	:: i >= NCPU -> i = 0; break
	od
}

/* ---- the usage count ---- */

/* virt_get_locked: cpus_read_lock and the count lock are held. */
inline virt_get_locked(ok)
{
	atomic {
		inflight++;
		if
		:: rebooting -> ok = false; first = false; refused = true
		:: else -> first = (count == 0); count++; refused = false; enabling = enabling + first
		fi
	}
	if
	:: refused
	:: first ->
		enable_all(ok);
		atomic { if :: !ok -> count-- :: else fi; enabling-- }
	:: else -> ok = true
	fi;
	atomic { if :: ok -> holders++ :: else fi; inflight--; first = false; refused = false }
}

inline virt_put_locked()
{
	atomic { assert(count > 0); inflight++; count--; holders--; last = (count == 0) }
	if
	:: last -> disable_all()
	:: else
	fi;
	inflight--
}

/* vm_create's virt_get (or, in the old design, its own lock nesting). */
inline vm_create(ok)
{
#if defined(OLD_VMLIST_DESIGN)
	mutex_lock(vm_list_lock);
	cpus_read_lock();
	virt_get_locked(ok);
	cpus_read_unlock();
	mutex_unlock(vm_list_lock)
#elif defined(BROKEN_COUNT_UNLOCKED)
	cpus_read_lock();
	virt_get_locked(ok);
	cpus_read_unlock()
#else
	cpus_read_lock();
	mutex_lock(usage_lock);
	virt_get_locked(ok);
	mutex_unlock(usage_lock);
	cpus_read_unlock()
#endif
}

inline vm_destroy()
{
#if defined(OLD_VMLIST_DESIGN)
	mutex_lock(vm_list_lock);
	cpus_read_lock();
	virt_put_locked();
	cpus_read_unlock();
	mutex_unlock(vm_list_lock)
#elif defined(BROKEN_COUNT_UNLOCKED)
	cpus_read_lock();
	virt_put_locked();
	cpus_read_unlock()
#else
	cpus_read_lock();
	mutex_lock(usage_lock);
	virt_put_locked();
	mutex_unlock(usage_lock);
	cpus_read_unlock()
#endif
}

inline try_to_freeze()
{
	if
	:: atomic { freezing -> frozen++ }; !freezing; frozen--
	:: else
	fi
}

/* A freezable VM thread (the stress helper, a VMM's vCPU thread): parks in
 * try_to_freeze between operations, never inside one. */
proctype user()
{
	bool ok, first, last, failed, refused;
	byte i, round = 0;
	do
	:: round < ROUNDS ->
		round++;
		try_to_freeze();
		vm_create(ok);
		if
		:: ok ->
			try_to_freeze();   /* the VM lives on across a suspend */
			vm_destroy()
		:: else
		fi
	:: else -> break
	od;
	freezable--   /* freezer_exit */
}

/* ---- CPU hotplug (the console thread; cpus_write_lock for the walk) ---- */

/* virt_cpu_online in cpuhp/<cpu>: preemption off, interrupts on, so the
 * check and the enable are separate steps. */
inline virt_cpu_online(cpu, ok)
{
	mutex_lock(callback_lock);
	if
	:: count > 0 ->
		enabling++;
		if
		:: virt_on[cpu] -> ok = true
		:: else ->
			if
			:: rebooting -> ok = false
			:: failures_left > 0 && !rebooting -> failures_left--; ok = false
			:: !rebooting -> assert(!reboot_done); virt_on[cpu] = true; ok = true
			fi
		fi;
		enabling--
	:: else -> ok = true   /* compatibility refresh only; not a veto */
	fi;
	mutex_unlock(callback_lock)
}

inline virt_cpu_offline(cpu)
{
	mutex_lock(callback_lock);
	if
	:: count > 0 -> disable_on(cpu)
	:: else
	fi;
	mutex_unlock(callback_lock)
}

inline cpu_up(cpu)
{
	cpus_write_lock();
	atomic { inflight++; online[cpu] = true }   /* PREPARE, INIT-SIPI-SIPI, STARTING */
	virt_cpu_online(cpu, ok);
	if
	:: ok && failures_left > 0 ->               /* a later ONLINE step vetoes */
		failures_left--;
		virt_cpu_offline(cpu);
		ok = false
	:: ok
	:: else
	fi;
	if
	:: !ok -> assert(!virt_on[cpu]); online[cpu] = false   /* kill_cpu */
	:: else
	fi;
	inflight--;
	cpus_write_unlock()
}

inline cpu_down(cpu)
{
	cpus_write_lock();
	inflight++;
	virt_cpu_offline(cpu);
	assert(!virt_on[cpu]);
	online[cpu] = false;
	inflight--;
	cpus_write_unlock()
}

/* suspend_cycle */
inline suspend()
{
#ifndef BROKEN_NO_FREEZE
	freezing = true;
	frozen == freezable;          /* freeze_tasks */
#endif
	t = NCPU - 1;
	do
	:: t > 0 ->
		if
		:: online[t] -> cpu_down(t); was[t] = true
		:: else
		fi;
		t--
	:: else -> break
	od;
	atomic {
		/* Boot CPU, interrupts off, every other CPU offline: nothing
		 * else runs. */
		assert(enabling == 0);
		/* virt_syscore_suspend asserts that this task does not hold
		 * usage_lock.  No VM thread does either (frozen, or waiting
		 * behind the hotplug lock).  A reboot from another
		 * (non-freezable) thread can: when no CPU had to go offline,
		 * nothing made the suspend wait for it.  Harmless -- it disables
		 * everything and `rebooting` stops the resume's re-enable --
		 * and vigil issues both from the console thread anyway. */
#ifndef BROKEN_NO_FREEZE   /* there: the enable in flight is what must be seen */
		assert(usage_lock == 0 || usage_lock == rebooter_pid + 1);
#endif
		t = 1;
		do
		:: t < NCPU -> assert(!online[t]); t++
		:: else -> break
		od;
		inflight++;
		if
		:: count > 0 -> disable_on(0)                      /* virt_syscore_suspend */
		:: else
		fi;
		/* asleep: S3 loses the CPU state, so it had to be off */
		if
		:: count > 0 && !rebooting -> virt_on[0] = true    /* virt_syscore_resume */
		:: else
		fi;
		inflight--
	}
	t = 1;
	do
	:: t < NCPU ->
		if
		:: was[t] -> was[t] = false; cpu_up(t)          /* online_again */
		:: else
		fi;
		t++
	:: else -> break
	od;
	freezing = false              /* thaw_tasks */
}

/* The console thread: `cpu online|offline` and `suspend`, one at a time. */
proctype console()
{
	bool ok, suspended;
	bool was[NCPU];
	byte t, ops = 0;
	do
	:: ops < HOTPLUG_OPS ->
		ops++;
		if
		:: t = 1
#if NCPU > 2
		:: t = 2
#endif
		fi;
		if
		:: online[t] -> cpu_down(t)
		:: else -> cpu_up(t)
		fi
	:: !suspended -> suspended = true; suspend()
	:: break
	od
}

/* ---- reboot (virt_reboot, from any thread) ---- */
proctype rebooter()
{
	byte i;
	if
	:: skip
	:: goto done   /* no reboot in this run */
	fi;
#ifndef BROKEN_REBOOT_UNLOCKED
	cpus_read_lock();
	mutex_lock(count_lock);
#endif
	atomic { inflight++; rebooting = true }
	disable_all();
	atomic { reboot_done = true; inflight-- }
#ifndef BROKEN_REBOOT_UNLOCKED
	mutex_unlock(count_lock);
	cpus_read_unlock();
#endif
done:
	skip
}

/* A callback run with the hotplug lock read-held that takes the VM-list lock
 * (Linux's kvmclock cpufreq notifier; clock_change_notifier in the selftest). */
proctype notifier()
{
	cpus_read_lock();
	mutex_lock(vm_list_lock);
	mutex_unlock(vm_list_lock);
	cpus_read_unlock()
}

/* ---- the invariant (usage_invariant), whenever nothing is in flight ---- */
#define CPU_OK(c) (reboot_done -> !virt_on[c] : \
		   (online[c] -> (virt_on[c] == (count > 0)) : !virt_on[c]))
#if NCPU == 2
#define INVARIANT (CPU_OK(0) && CPU_OK(1) && count == holders)
#elif NCPU == 3
#define INVARIANT (CPU_OK(0) && CPU_OK(1) && CPU_OK(2) && count == holders)
#else
#error "INVARIANT is written out for 2 or 3 CPUs"
#endif

proctype monitor()
{
	/* Enabled exactly when the invariant is broken at a quiet moment; the
	 * flag gives the failed assertion a name in pan's report. */
end:	atomic { (inflight == 0 && !INVARIANT) -> usage_invariant = false; assert(usage_invariant) }
}

init
{
	byte i;
	atomic {
		i = 0;
		do
		:: i < NCPU -> online[i] = true; i++
		:: else -> break
		od;
		run monitor();
		i = 0;
		do
		:: i < NUSER -> run user(); i++
		:: else -> break
		od;
		run console();
#ifndef OLD_VMLIST_DESIGN
		rebooter_pid = run rebooter();
#endif
		run notifier()
	}
}

/*
 * Model 7, "vcpu_offline": a CPU going offline under live vCPUs
 * (core/virt/vcpu_hotplug.c, the loop of core/virt/vcpu.c).  docs/models.md
 * says what it proves.
 *
 * CPU X goes offline; CPU Y (the boot CPU) stays.  Two vCPU tasks loop:
 * the scheduler may put each on X (a wake-up, an idle X stealing it) until
 * X's run queue closes; a pass on a CPU runs with preemption off from its
 * `where` store to the end of the exit's handling, so on X it excludes the
 * hotplug thread cpuhp/X (modelled as ownership of X).  A pass: where = cpu;
 * if the CPU is closed or has virtualization off, where = none and the task
 * moves to Y; else vcpu_load there (virtualization must be on: VMPTRLD /
 * VMRUN would fault otherwise), enter, exit.
 *
 * cpuhp/X runs the ONLINE teardowns in order: vcpu:online (close X, then
 * sleep until no vCPU has where == X), then virt:online (virtualization off
 * on X, with preemption off); then the scheduler closes X's queue and pushes
 * what is queued there to Y.
 *
 * Properties:
 *   load_on_disabled   no vcpu_load or entry on X once virtualization is off
 *                      there
 *   left_before_off    when virtualization goes off on X no vCPU's `where`
 *                      is X (the vCPUs left first)
 * Broken variants: BROKEN_NO_CLOSE (the teardown does not close X: a vCPU
 * stolen by X after the wait is there again when virtualization goes off),
 * BROKEN_NO_WAIT (no wait: a vCPU still there), BROKEN_NO_USABLE_CHECK (the
 * loop loads without looking at the CPU: a load on X after the disable).
 */

#define X 0
#define Y 1
#define NONE 2
#define NV 2
#define PASSES 3

bit closed;
bit hw_x = 1;
bit x_dying;
byte owner_x = NV;          /* NV: nobody; 0..NV-1 a vCPU; NV+1 cpuhp/X */
byte where[NV];
byte task_cpu[NV];

proctype vcpu(byte me)
{
	byte n = 0;
	byte c;
	do
	:: n == PASSES -> break
	:: n < PASSES ->
		/* The scheduler may move the task to X while X takes tasks. */
		if
		:: atomic { !x_dying -> task_cpu[me] = X }
		:: skip
		fi;
		/* X's queue closed: the scheduler pushed the task to Y */
		if
		:: atomic { x_dying && task_cpu[me] == X -> task_cpu[me] = Y }
		:: else -> skip
		fi;
		c = task_cpu[me];
		if
		:: c == X -> atomic { owner_x == NV -> owner_x = me }
		:: else -> skip
		fi;
		where[me] = c;
		if
#ifndef BROKEN_NO_USABLE_CHECK
		:: c == X && (closed || !hw_x) ->
			where[me] = NONE;
			owner_x = NV;
			task_cpu[me] = Y
#endif
		:: else ->
			/* vcpu_load, enter, exit, handle: still preemption off */
			assert(c != X || hw_x);   /* load_on_disabled */
			if
			:: c == X -> owner_x = NV
			:: else -> skip
			fi
		fi;
		n++
	od;
	where[me] = NONE   /* stopped: the task is gone */
}

proctype cpuhp()
{
	byte i;
#ifndef BROKEN_NO_CLOSE
	atomic { owner_x == NV -> closed = 1 }
#endif
#ifndef BROKEN_NO_WAIT
	/* sleep until every vCPU has left (sleeping lets them run on X) */
	do
	:: atomic { owner_x == NV && where[0] != X && where[1] != X -> break }
	od;
#endif
	/* virt:online's teardown, preemption off on X */
	atomic {
		owner_x == NV ->
		i = 0;
		do
		:: i < NV -> assert(where[i] != X); i++   /* left_before_off */
		:: i == NV -> break
		od;
		hw_x = 0
	}
	/* the scheduler closes X and pushes its queue to Y */
	atomic {
		x_dying = 1;
		i = 0;
		do
		:: i < NV -> if :: task_cpu[i] == X && owner_x != i -> task_cpu[i] = Y :: else -> skip fi; i++
		:: i == NV -> break
		od
	}
}

init
{
	atomic {
		where[0] = NONE; where[1] = NONE;
		task_cpu[0] = Y; task_cpu[1] = Y;
		run vcpu(0);
		run vcpu(1);
		run cpuhp()
	}
}

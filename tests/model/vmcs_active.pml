/*
 * Model 6, "vmcs_active": where a live vCPU's VMCS is active, across moves
 * between CPUs, VMX disable/enable on a CPU and eviction from a full list
 * (arch/x86/vmx/vmx_vcpu.c, vmx_loaded.c, vmx_cpu.c).  docs/models.md says
 * what it proves and how to run it.
 *
 * What it abstracts, by C function:
 *
 *   vmx_vcpu_load            load(): if its VMCS was made active on another
 *                            CPU, a waiting cross-CPU call there
 *                            (clear_elsewhere -> clear_here: VMCLEAR if it
 *                            is on that CPU's list); then, interrupts off
 *                            (one atomic step): VMX off here -> nothing;
 *                            still in its slot here -> VMPTRLD if not
 *                            current; else vmx_loaded_add (evicting the
 *                            oldest when the list is full: VMCLEAR it),
 *                            VMCLEAR + VMPTRLD, launched = false
 *   vmx_vcpu_enter           enter(): interrupts off (one atomic step):
 *                            VMX on, still in its slot, current -> VMLAUNCH
 *                            or VMRESUME by its launched flag
 *   vmx_disable              the admin's cross-CPU call: VMCLEAR everything
 *                            on the CPU's list, then VMXOFF; vmx_enable: on
 *   the hardware             hw_cpu[v]: the CPU whose VMCS cache holds v's
 *                            VMCS (active there), or NONE; hw_launched[v]:
 *                            its launch state; cur[c]: the current VMCS
 *
 * Interrupt context on a CPU (a cross-CPU call) never runs inside that
 * CPU's interrupts-off sections: those are atomic here.  It may run between
 * load and enter (interrupts on in between), which is the window the
 * re-check in enter() exists for.
 *
 * Bounds: two vCPU tasks, each making ENTRIES entries on CPUs it picks
 * freely (a move between any two); two CPUs with lists of LIST slots
 * (default 1, so that two vCPUs on one CPU evict each other); an admin
 * that disables and re-enables a CPU at most TOGGLES times.
 *
 * Properties (assertions):
 *   two_cpus        VMPTRLD never makes a VMCS active on a second CPU while
 *                   another CPU's cache holds it (SDM vol 3C, 25.11.1)
 *   vmxoff_active   VMXOFF never runs with a VMCS active on that CPU (its
 *                   state would be lost, 25.1)
 *   launch_state    VMLAUNCH only on a clear VMCS, VMRESUME only on a
 *                   launched one (31.3), and entries only on the current
 *                   VMCS with VMX on
 */

#ifndef ENTRIES
#define ENTRIES 3
#endif
#ifndef TOGGLES
#define TOGGLES 1
#endif
#ifndef LIST
#define LIST 1
#endif
#define NCPU 2
#define NV 2
#define NONE 255

byte hw_cpu[NV];          /* CPU whose cache holds the VMCS, or NONE */
bool hw_launched[NV];
byte cur[NCPU];           /* current VMCS of each CPU, or NONE */
bool on[NCPU];            /* in VMX operation */
byte slot[NCPU * LIST];   /* the per-CPU lists: a vCPU (its VMCS) or NONE */

/* Its VMCS still in the slot of its CPU's list where it was put
 * (active_on() in vmx_vcpu.c). */
#ifdef BROKEN_NO_LIST_CHECK
#define ACTIVE(v, c) (vcpu_cpu[v] == c)
#else
#define ACTIVE(v, c) (vcpu_cpu[v] == c && slot[c * LIST + vcpu_slot[v]] == v)
#endif

/* The vCPUs' own state (struct vmx_vcpu). */
byte vcpu_cpu[NV];        /* where it was last made active, or NONE */
byte vcpu_slot[NV];
bool vcpu_launched[NV];

/* VMCLEAR everything on CPU c's list (disable, emergency). */
inline clear_all(c) {
	i = 0;
	do
	:: i < LIST ->
		if
		:: slot[c * LIST + i] != NONE ->
			w = slot[c * LIST + i];
			assert(hw_cpu[w] == NONE || hw_cpu[w] == c);
			hw_cpu[w] = NONE;
			hw_launched[w] = false;
			slot[c * LIST + i] = NONE
		:: else
		fi;
		i++
	:: else -> break
	od;
	cur[c] = NONE
}

proctype admin()
{
	byte n = 0, c, i, w;
	do
	:: n < TOGGLES ->
		if
		:: c = 0
		:: c = 1
		fi;
		atomic {
			/* vmx_disable on c (a cross-CPU call there) */
#ifndef BROKEN_DISABLE_NO_CLEAR
			clear_all(c);
#endif
			w = 0;
			do
			:: w < NV -> assert(hw_cpu[w] != c);  /* vmxoff_active */ w++
			:: else -> break
			od;
			on[c] = false
		}
		atomic { on[c] = true };  /* vmx_enable */
		n++
	:: else -> break
	od
}

proctype vcpu(byte v)
{
	byte n = 0, c, i, w, s;
	bool is_active;
	do
	:: n < ENTRIES ->
		/* The task runs where the scheduler puts it. */
		if
		:: c = 0
		:: c = 1
		fi;
		/* ---- vcpu_load: the cross-CPU VMCLEAR on the old CPU ---- */
#ifndef BROKEN_NO_REMOTE_CLEAR
		if
		:: vcpu_cpu[v] != NONE && vcpu_cpu[v] != c ->
			atomic {
				/* clear_here on vcpu_cpu[v]: VMCLEAR if on its list */
				w = vcpu_cpu[v];
				i = 0;
				do
				:: i < LIST ->
					if
					:: slot[w * LIST + i] == v ->
						hw_cpu[v] = NONE;
						hw_launched[v] = false;
						if
						:: cur[w] == v -> cur[w] = NONE
						:: else
						fi;
						slot[w * LIST + i] = NONE
					:: else
					fi;
					i++
				:: else -> break
				od
			};
			vcpu_cpu[v] = NONE;
			vcpu_launched[v] = false
		:: else
		fi;
#endif
		/* ---- vcpu_load: interrupts off ---- */
		atomic {
			is_active = ACTIVE(v, c);
			if
			:: !on[c] -> skip
			:: on[c] && is_active ->
				if
				:: cur[c] != v ->
					assert(hw_cpu[v] == NONE || hw_cpu[v] == c);  /* two_cpus */
					hw_cpu[v] = c;
					cur[c] = v
				:: else
				fi
			:: on[c] && !is_active ->
				/* vmx_loaded_add: a free slot, else evict slot 0 */
				s = NONE;
				i = 0;
				do
				:: i < LIST && s == NONE ->
					if
					:: slot[c * LIST + i] == NONE -> s = i
					:: else
					fi;
					i++
				:: else -> break
				od;
				if
				:: s == NONE ->
					s = 0;
					w = slot[c * LIST];
					hw_cpu[w] = NONE;
					hw_launched[w] = false;
					if
					:: cur[c] == w -> cur[c] = NONE
					:: else
					fi
				:: else
				fi;
				slot[c * LIST + s] = v;
				/* VMCLEAR (fresh) then VMPTRLD here */
				assert(hw_cpu[v] == NONE || hw_cpu[v] == c);  /* two_cpus */
				hw_launched[v] = false;
				hw_cpu[v] = c;
				cur[c] = v;
				vcpu_cpu[v] = c;
				vcpu_slot[v] = s;
				vcpu_launched[v] = false
			fi
		}
		/* interrupts on: cross-CPU calls (disable) may run here */
		/* ---- vcpu_enter: interrupts off ---- */
		atomic {
			if
#ifdef BROKEN_ENTER_NO_RECHECK
			:: vcpu_cpu[v] == c ->
#else
			:: on[c] && ACTIVE(v, c) ->
#endif
				if
				:: cur[c] != v ->
					assert(hw_cpu[v] == NONE || hw_cpu[v] == c);  /* two_cpus */
					hw_cpu[v] = c;
					cur[c] = v
				:: else
				fi;
				/* launch_state: VMX on, the current VMCS, and the
				 * instruction its launch state asks for */
				assert(on[c]);
				assert(cur[c] == v && hw_cpu[v] == c);
				assert(hw_launched[v] == vcpu_launched[v]);
				hw_launched[v] = true;
				vcpu_launched[v] = true
			:: else -> skip  /* vcpu_enter answers false */
			fi
		};
		n++
	:: else -> break
	od
}

init {
	byte i;
	atomic {
		i = 0;
		do
		:: i < NV -> hw_cpu[i] = NONE; vcpu_cpu[i] = NONE; i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NCPU * LIST -> slot[i] = NONE; i++
		:: else -> break
		od;
		cur[0] = NONE;
		cur[1] = NONE;
		on[0] = true;
		on[1] = true;
		run vcpu(0);
		run vcpu(1);
		run admin()
	}
}

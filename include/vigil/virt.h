/*
 * Hardware virtualization behind one interface.  arch/x86 provides a
 * struct virt_ops for each of Intel's and AMD's technologies; core/virt/ (the usage count, VMs,
 * the console commands) only ever talks to the chosen one through this
 * header and never names the technology.
 *
 * Per-CPU operations (snapshot, enable, disable, hw_enabled) run ON the CPU
 * they concern, with preemption disabled (core calls them through
 * on_each_cpu()/smp_call_function_single() or from that CPU's hotplug
 * thread).  emergency_disable runs in NMI context: no locks, no printk.
 */
#ifndef VIGIL_VIRT_H
#define VIGIL_VIRT_H
#include <vigil/types.h>
#include <vigil/why.h>

/* ---- compatibility snapshot ---- */

#define VIRT_COMPAT_MAX 48
#define VIRT_COMPAT_NAME 28

/* Named values that must be equal on every CPU (CR4 reserved-bit mask,
 * capability MSRs, CPUID leaves, lock bits...).  Filled per CPU; a CPU whose
 * snapshot differs from the boot CPU's is refused, with the first differing
 * field named and both values printed. */
struct virt_compat {
	unsigned n;
	struct {
		char name[VIRT_COMPAT_NAME];
		uint64_t value;
	} f[VIRT_COMPAT_MAX];
	/* A fatal problem on this CPU independent of the boot CPU (for example
	 * "disabled by firmware" with the register that says so), or "". */
	char unusable[96];
};
void virt_compat_add(struct virt_compat *c, const char *name, uint64_t value);

/* ---- guests ---- */

struct vm;
struct vcpu;                   /* vigil/vcpu.h */
struct vcpu_requests;          /* vigil/vcpu_request.h */
struct vm_memslots;            /* core/virt/memslot_vm.c */

/* What the exit layer makes of one exit of a live vCPU. */
enum vcpu_exit_action {
	VCPU_EXIT_CONTINUE = 0,    /* handled: enter again */
	VCPU_EXIT_HALT,            /* the guest executed HLT: sleep until a timer tick or a kick */
	VCPU_EXIT_GUEST_FAILED,    /* the guest misbehaved: vcpu->error; the vCPU stops */
	VCPU_EXIT_HOST_FAILED,     /* the host side failed: vcpu->error; the vCPU stops */
};

/* The built-in test guest: what it does in its loop. */
enum guest_kind {
	GUEST_NORMAL = 0,  /* CPUID, port I/O, hypercall, HLT in a loop */
	GUEST_WILD,        /* touches guest-physical memory outside its slots */
	GUEST_BAD_INSN,    /* executes an undefined instruction */
	GUEST_SPIN,        /* loop { spin 2^22 times without exiting; hypercall } */
	GUEST_PATTERN,     /* live vCPUs: write and check a per-vCPU pattern; report
			      progress and errors by hypercall (asm/guest_code.inc) */
	GUEST_HCLOOP,      /* loop { hypercall }: the exit round-trip benches */
	GUEST_PROBE,       /* loop { store pass, load it back from GUEST_PROBE_GPA;
			      report both by hypercall }: what the guest sees of
			      a memory slot, or of MMIO, there (asm/guest_code.inc) */
};

/* Exit reasons, named the same for both technologies. */
enum vexit {
	VEXIT_NONE = 0,
	VEXIT_HYPERCALL,
	VEXIT_CPUID,
	VEXIT_HLT,
	VEXIT_IO,
	VEXIT_MEM_FAULT,     /* EPT violation / nested page fault outside every slot */
	VEXIT_EXCEPTION,     /* the guest raised an exception we intercept (#UD...) */
	VEXIT_ENTRY_FAILED,  /* VM entry failed: invalid state */
	VEXIT_SHUTDOWN,      /* triple fault */
	VEXIT_INTR,          /* a physical interrupt for the host (taken between two entries) */
	VEXIT_OTHER,
	VEXIT_COUNT
};
const char *vexit_name(enum vexit e);

#define VCPU_STOP_POLL_EXITS 256
struct vcpu_run {
	/* in */
	enum guest_kind guest;
	uint64_t max_exits;        /* stop after this many exits */
	bool (*stop)(void);        /* optional: polled every VCPU_STOP_POLL_EXITS exits;
				      true ends the run early (Ctrl-C on the console) */
	struct vcpu_requests *req; /* optional: guest mode is published around every
				      entry (vcpu_enter_guest_mode()); a request
				      pending at an entry, or a kick, ends the run */
	/* out */
	uint64_t exits;
	uint64_t exit_count[VEXIT_COUNT];
	enum vexit last_exit;
	uint64_t hypercalls;       /* hypercalls seen (the guest counts in rax) */
	uint64_t progress;         /* GUEST_PATTERN: progress hypercalls */
	uint64_t guest_errors;     /* GUEST_PATTERN: memory errors the guest reported */
	uint64_t mmio_exits;       /* nested page faults outside every slot that the
				      exit layer reported and the guest survived */
	uint64_t fault_retries;    /* nested page faults that mapped nothing because a
				      host invalidation covered them (the guest retried) */
	unsigned fault_streak;     /* retries since the last fault that mapped */
	unsigned max_fault_retries; /* the longest such streak */
	/* GUEST_PROBE: what its loads from GUEST_PROBE_GPA returned -- the
	 * pass it had just stored (memory), the MMIO marker, or anything else
	 * (a read-only slot's own contents) -- and the last pass and value. */
	uint64_t probe_memory, probe_marker, probe_other;
	uint64_t probe_last_pass, probe_last_value;
	uint64_t guest_ns;         /* wall time from first entry to last exit */
	uint64_t timer_ticks;      /* this CPU's timer interrupts taken during the run */
	bool guest_failed;         /* stopped because the guest misbehaved */
	bool interrupted;          /* stopped early because stop() said so */
	bool requested;            /* stopped early: a request on req was pending */
	char why[WHY_MAX];         /* when guest_failed or on error: what happened */
};

/* A memory slot: guest-physical [gpa, gpa+size) backed by host pages. */
struct vm_slot {
	uint64_t gpa;
	uint64_t size;
	uint64_t hpa;              /* physically contiguous backing */
	unsigned order;            /* pmm order of the backing */
	bool used;
};
#define VM_MAX_SLOTS 8

struct vm {
	unsigned id;
	struct vm_slot slots[VM_MAX_SLOTS];
	unsigned nr_vcpus;
	enum guest_kind guest;     /* what its live vCPUs run (GUEST_PATTERN) */
	struct vcpu **vcpus;       /* nr_vcpus live vCPUs (vigil/vcpu.h), or NULL */
	uint64_t runs;
	uint64_t mmio_exits;       /* of all its vCPUs and runs (atomic adds) */
	bool running;              /* a vm run is in progress (under vm_list_lock) */
	struct vcpu_requests *req; /* its one vCPU's requests; vm run publishes guest mode */
	void *arch;                /* EPT/NPT root and friends, owned by virt_ops */
	struct vm_memslots *memslots; /* its slot sets (vigil/memslot.h, core/virt/memslot_vm.c) */
	struct vm *next;
	/* Live VMs (vigil/vcpu.h, core/virt/vm_live.c). */
	volatile int live_state;   /* enum vm_state; written under vm_life_lock and vm_list_lock */
	uint64_t progress_seen;    /* the `check` invariant: progress at the previous check */
	bool seen_running;         /* ... and whether the VM was running then */
	/* Entries blocked during an atomic slot update (vigil/vm_gate.h);
	 * allocated with the VM (a pointer: that header needs the wait queues). */
	struct vm_gate *gate;
};

/* ---- the interface ---- */

struct virt_ops {
	const char *name;          /* the technology's short name (reported by `virt`) */
	/* Boot CPU, once: can this machine do it at all?  0, or -1 with why. */
	int (*probe)(char *why, size_t len);
	/* Allocate the per-CPU state (root region / host save area) of a
	 * possible CPU; called for every possible CPU at boot.  0 or -1. */
	int (*prepare_cpu)(unsigned cpu);
	/* This CPU: fill the technology's part of the compatibility snapshot. */
	void (*snapshot)(struct virt_compat *c);
	/* This CPU: turn virtualization on.  Refuses (-1, why) if the hardware
	 * says it is already on (someone else's), and leaves the CPU exactly as
	 * it found it on any failure. */
	int (*enable)(char *why, size_t len);
	/* This CPU: turn it off.  Only called when enable succeeded. */
	void (*disable)(void);
	/* This CPU: what the hardware says (the enable bit in CR4 or EFER). */
	bool (*hw_enabled)(void);
	/* This CPU, NMI or panic context: get out of virtualization at any cost
	 * so INIT and reset work again.  Idempotent. */
	void (*emergency_disable)(void);

	/* VMs: nested paging root, slots, and running the test guest on the
	 * current CPU (preemption disabled, virtualization enabled here). */
	int (*vm_init)(struct vm *vm, char *why, size_t len);
	void (*vm_destroy)(struct vm *vm);
	int (*vm_map_slot)(struct vm *vm, const struct vm_slot *s, char *why, size_t len);
	void (*vm_unmap_slot)(struct vm *vm, const struct vm_slot *s);
	/* Task context, under the VM's slots lock: drop every nested page
	 * table mapping of guest-physical [gpa, gpa+size) (a memory slot went
	 * away or moved) and make every later entry of the VM's vCPUs flush
	 * the guest's TLB before it runs guest code. */
	void (*vm_zap_range)(struct vm *vm, uint64_t gpa, uint64_t size);
	/* Load the built-in guest's code into the VM's memory (slot 0 at gpa 0)
	 * and run it until run->max_exits exits or until it misbehaves.
	 * Returns 0 (run->guest_failed says whether the guest misbehaved), or
	 * -1 with run->why when the host side failed. */
	int (*vcpu_run)(struct vm *vm, struct vcpu_run *run);

	/* Live vCPUs (vigil/vcpu.h).  vcpu_create: allocate vcpu->arch (VMCS
	 * or VMCB, guest registers), load the VM's guest (vm->guest) into slot
	 * 0 and set vCPU vcpu->index's initial state.  Task context, may
	 * sleep; 0 or -1 with why. */
	int (*vcpu_create)(struct vcpu *vcpu, char *why, size_t len);
	/* Free vcpu->arch.  Its task has exited.  VMX: VMCLEARs it on the CPU
	 * where it is still active (cross-CPU call).  Task context. */
	void (*vcpu_destroy)(struct vcpu *vcpu);
	/* On cpu (= smp_processor_id()), preemption off, interrupts on, before
	 * every entry: make the state usable here; cheap when nothing changed.
	 * VMX: VMCLEAR on the previous CPU, VMPTRLD here, per-CPU host fields;
	 * SVM: flush the guest's ASID when the CPU changed.  0, or -1 with why
	 * (the vCPU fails). */
	int (*vcpu_load)(struct vcpu *vcpu, unsigned cpu, char *why, size_t len);
	/* Interrupts off, guest mode published (vcpu_enter_guest_mode()), after
	 * vcpu_load on this CPU: enter the guest once and return at its next
	 * exit, which is decoded but not yet handled.  false: nothing ran,
	 * because virtualization is off on this CPU now (a disable ran between
	 * vcpu_load and here) -- the loop goes round and finds out why. */
	bool (*vcpu_enter)(struct vcpu *vcpu);
	/* Interrupts on, preemption still off (same CPU as vcpu_enter): handle
	 * that exit through the exit layer, accounting in vcpu->run. */
	enum vcpu_exit_action (*vcpu_handle_exit)(struct vcpu *vcpu);
};

/* A backend's ops from its functions <prefix>_probe, <prefix>_enable...: every
 * backend fills every operation, under the same names. */
#define VIRT_OPS_INIT(prefix) {                                   \
	.name = #prefix,                                          \
	.probe = prefix##_probe,                                  \
	.prepare_cpu = prefix##_prepare_cpu,                      \
	.snapshot = prefix##_snapshot,                            \
	.enable = prefix##_enable,                                \
	.disable = prefix##_disable,                              \
	.hw_enabled = prefix##_hw_enabled,                        \
	.emergency_disable = prefix##_emergency_disable,          \
	.vm_init = prefix##_vm_init,                              \
	.vm_destroy = prefix##_vm_destroy,                        \
	.vm_map_slot = prefix##_vm_map_slot,                      \
	.vm_unmap_slot = prefix##_vm_unmap_slot,                  \
	.vm_zap_range = prefix##_vm_zap_range,                    \
	.vcpu_run = prefix##_vcpu_run,                            \
	.vcpu_create = prefix##_vcpu_create,                      \
	.vcpu_destroy = prefix##_vcpu_destroy,                    \
	.vcpu_load = prefix##_vcpu_load,                          \
	.vcpu_enter = prefix##_vcpu_enter,                        \
	.vcpu_handle_exit = prefix##_vcpu_handle_exit,            \
}

/* ---- what both backends' vcpu_run use (core/virt/vcpu_run.c) ---- */

/* Clear a run's results (everything but the in fields). */
void vcpu_run_reset(struct vcpu_run *run);
/* Account for one exit of kind e (it becomes last_exit). */
void vcpu_run_count_exit(struct vcpu_run *run, enum vexit e);
/* After an exit: does the run's stop() hook (asked every
 * VCPU_STOP_POLL_EXITS exits) want the run to end?  Then it is marked
 * interrupted. */
bool vcpu_run_stop_asked(struct vcpu_run *run);
/* Around every entry, interrupts off (core/virt/vcpu_run_mode.c): publish
 * guest mode on run->req when there is one.  false: a request is pending,
 * do not enter (run->requested is set); otherwise call
 * vcpu_run_exit_guest_mode() after the exit. */
bool vcpu_run_enter_guest_mode(struct vcpu_run *run, unsigned cpu);
void vcpu_run_exit_guest_mode(struct vcpu_run *run);
/* gpa lies in one of vm's used slots: a nested-paging fault there means the
 * host's tables are wrong, elsewhere that the guest went astray. */
bool vm_gpa_in_slot(const struct vm *vm, uint64_t gpa);
/* MMIO exits of VM id's vCPUs and runs so far (0 when there is no such VM). */
uint64_t vm_mmio_exits(unsigned id);

/* ---- the core (core/virt/) ---- */

/* Boot: choose the technology, prepare every possible CPU, take the boot
 * CPU's compatibility snapshot and check every online CPU against it. */
void virt_init(void);
/* Take / drop a usage reference.  0 -> 1 enables on every online CPU (all
 * or none: a failure anywhere rolls every CPU back and restores the count);
 * 1 -> 0 disables on every online CPU.  virt_get returns 0, or -cause
 * (vigil/why.h: WHY_NOMEM, WHY_INJECTED, WHY_INCOMPATIBLE) with why. */
int virt_get(char *why, size_t len);
void virt_put(void);
unsigned virt_usage_count(void);
const char *virt_backend_name(void);            /* NULL when unavailable */
const char *virt_unavailable_reason(void);
/* Per-CPU state, owned by core/virt (not the generic cpu_desc): whether
 * virtualization is on there, the compatibility verdict ("ok",
 * "unchecked", "n/a" or the reason it is refused, one token), and "" or
 * why it is degraded (below). */
bool virt_cpu_enabled(unsigned cpu);
const char *virt_cpu_compat(unsigned cpu);
const char *virt_cpu_degraded(unsigned cpu);
/* virt_init registers the life-cycle callbacks (hotplug state
 * "virt:online", syscore ops, reboot notifier, emergency callback) with the
 * subsystems that run them; they are declared in core/virt/virt_internal.h.
 * When the boot CPU's re-enable on resume failed and VMs still exist, it is
 * degraded: off, with the reason in virt_cpu_degraded(), until an
 * enable there succeeds.  virt_degraded_report: true and the message for a
 * reply, or false.  virt_retry: enable there now; 0, or -1 with why (none
 * degraded, or it failed again). */
bool virt_degraded_report(char *why, size_t len);
int virt_retry(char *why, size_t len);
int virt_compat_compare(const struct virt_compat *boot, const struct virt_compat *cpu, char *why, size_t len);
/* Check this CPU against the boot CPU (sets virt_cpu_compat(cpu));
 * 0 or -WHY_INCOMPATIBLE. */
int virt_check_this_cpu(char *why, size_t len);

/* VMs (core/virt/vm.c).  vm_create returns 0, or -cause (vigil/why.h) with why. */
int vm_create(unsigned *id, char *why, size_t len);
int vm_destroy(unsigned id, char *why, size_t len);
int vm_run(unsigned id, unsigned cpu, struct vcpu_run *run, char *why, size_t len);
unsigned vm_count(void);

/* The architecture picks the technology (virt= on the command line, CPU
 * vendor) and returns its ops, or NULL with why when there is none. */
const struct virt_ops *arch_virt_ops(const char *want, char *why, size_t len);
/* The architecture's generic part of the snapshot (CR4 reserved bits...). */
void arch_virt_snapshot_common(struct virt_compat *c);

#endif

/*
 * Live vCPUs: a VM's virtual CPUs as kernel tasks that enter the guest again
 * and again until told to stop, preemptible and migratable between entries
 * like any task (docs/design.md, "Live VMs").
 *
 * The vCPU task's loop (core/virt/vcpu.c):
 *
 *     until stopped:
 *         try_to_freeze(); handle requests (stop, pause, TLB flush, reload)
 *         preempt_disable()
 *         ops->vcpu_load(vcpu, cpu)           state usable on this CPU
 *         interrupts off
 *         vcpu_enter_guest_mode()             re-check requests, need_resched
 *         ops->vcpu_enter(vcpu)               one entry, back at the next exit
 *         vcpu_exit_guest_mode()
 *         interrupts on                       the host takes its interrupt
 *         ops->vcpu_handle_exit(vcpu)         the one exit layer
 *         preempt_enable()                    may be preempted or migrated
 *         HLT: sleep until a timer tick or a kick
 *
 * The backend (struct virt_ops in vigil/virt.h) owns vcpu->arch: the VMCS or
 * VMCB and the guest's registers.  The core owns everything else.
 */
#ifndef VIGIL_VCPU_H
#define VIGIL_VCPU_H
#include <vigil/types.h>
#include <vigil/vcpu_request.h>
#include <vigil/virt.h>
#include <vigil/why.h>

enum vcpu_state {
	VCPU_STOPPED = 0,   /* no task (never started, or stopped) */
	VCPU_RUNNING,       /* its task loops entering the guest */
	VCPU_PAUSED,        /* its task waits outside the guest until resumed */
	VCPU_FAILED,        /* stopped by a guest or host failure: error says why */
};

#define VCPU_NAME_LEN 24

struct vcpu {
	struct vm *vm;
	unsigned index;                /* 0 .. vm->nr_vcpus-1 */
	char name[VCPU_NAME_LEN];      /* "vcpu<vm>.<index>", also its task's name */
	struct task *task;             /* NULL while stopped */
	struct vcpu_requests req;
	volatile int state;            /* enum vcpu_state */
	int pin;                       /* TASK_ANY_CPU, or the CPU it is pinned to */
	int last_cpu;                  /* CPU of the last entry, -1 before the first */
	/* Every exit since the VM was created, as the exit layer accounts
	 * them (run.exits, run.exit_count[], run.progress, run.guest_errors,
	 * run.mmio_exits; run.guest is the VM's guest kind). */
	struct vcpu_run run;
	uint64_t entries;              /* guest entries */
	uint64_t migrations;           /* entries on another CPU than the previous one */
	uint64_t halts;                /* HLT exits slept on */
	char error[WHY_MAX];           /* VCPU_FAILED: what happened */
	void *arch;                    /* owned by virt_ops: VMCS / VMCB, guest registers */
	/* The core's bookkeeping of the task (core/virt/vcpu.c). */
	volatile int where;            /* CPU of its loop's current pass or of its last entry (HLT
	                                  sleep); -1: parked, frozen or moving */
	volatile bool frozen;          /* parked in the freezer (suspend) */
	volatile bool outside;         /* parked outside the guest until told: paused, refused */
	int rebind;                    /* atomic: apply pin to its task at the next pass */
	uint64_t moves;                /* times its loop left a CPU it may not enter on */
	uint64_t flushes;              /* TLB flush requests consumed */
	uint64_t reloads;              /* reload requests consumed */
};

/* ---- live VMs (core/virt/vm_live.c, vcpu.c) ---- */

enum vm_state { VM_STOPPED = 0, VM_RUNNING, VM_PAUSED };
const char *vm_state_name(int state);
const char *vcpu_state_name(int state);

/* vm create [vcpus=<n>] [mem=<bytes>]: a stopped VM of nr_vcpus vCPUs
 * running GUEST_PATTERN in a slot 0 of mem bytes (0: the default for
 * nr_vcpus).  0, or -cause with why. */
int vm_create_live(unsigned *id, unsigned nr_vcpus, uint64_t mem, char *why, size_t len);
/* Each: 0, or -1 with why and nothing changed. */
int vm_start(unsigned id, char *why, size_t len);
int vm_stop(unsigned id, char *why, size_t len);
int vm_pause(unsigned id, char *why, size_t len);
int vm_resume(unsigned id, char *why, size_t len);
/* cpu >= 0: pin vCPU index of VM id there; TASK_ANY_CPU (-1): unpin. */
int vcpu_pin(unsigned id, unsigned index, int cpu, char *why, size_t len);
/* `vm stat`: fn(line, arg) for each output line. */
int vm_stat(unsigned id, void (*fn)(const char *line, void *arg), void *arg, char *why, size_t len);
/* The state of VM id (enum vm_state), or -1 when there is none. */
int vm_live_state(unsigned id);

/* The vCPU task (core/virt/vcpu.c): start it (state RUNNING) or stop it
 * (STOP request, kick, join). */
int vcpu_task_start(struct vcpu *v, char *why, size_t len);
void vcpu_task_stop(struct vcpu *v);

/* Entering guests on a CPU (core/virt/vcpu_hotplug.c): closed while the
 * CPU goes offline, from before its virtualization is turned off until it
 * is back; refused for good once a reboot or poweroff began. */
bool vcpu_cpu_usable(unsigned cpu);
bool vcpu_entries_refused(void);
/* Reboot/poweroff: refuse every later entry, kick every vCPU out and wait
 * (bounded) until none is in guest mode.  Returns how many were still in
 * guest mode when the wait gave up (0 normally). */
unsigned vcpus_refuse_entries(void);
/* Call fn for every vCPU of every VM, under the VM-list lock (fn must not
 * sleep). */
void vcpu_for_each(void (*fn)(struct vcpu *v, void *arg), void *arg);

/* Boot, after virt_init and before cpuhp_init: the vCPUs' hotplug state
 * (registered after virtualization's, so its teardown runs first on the
 * way down and its startup last on the way up), the freezer's kick and the
 * reboot latch (core/virt/vcpu_hotplug.c). */
void vcpu_lifecycle_init(void);

/* The architecture: the smallest slot 0 that holds nr vCPUs of the
 * pattern guest. */
uint64_t guest_pattern_min_mem(unsigned nr);

#endif

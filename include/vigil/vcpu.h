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
};

#endif

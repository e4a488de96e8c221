/*
 * What the files of the VMX backend share.  Nothing outside arch/x86/vmx/
 * includes this; the rest of the kernel sees only vmx_ops (asm/vmx.h).
 *
 *   vmx_probe.c     capability MSRs, probe, the controls every VMCS uses
 *   vmx_compat.c    the compatibility snapshot
 *   vmx_cpu.c       per-CPU VMXON region, enable/disable/emergency disable
 *   vmx_vmcs.c      VMCS life cycle (tracked per CPU), controls, host state
 *   vmx_guest.c     the built-in guest: code, initial guest state
 *   vmx_vm.c        a VM: init, destroy, slots
 *   vmx_ept.c       EPT tables for a VM's memory slots (asm/pt_walk.h)
 *   vmx_run.c       vcpu_run: the entry/exit loop
 *   vmx_exit.c      one VM exit: accounting and emulation
 *   vmx_entry.asm   VMLAUNCH/VMRESUME and the VM-exit landing stub
 *   vmx_guest_code.asm  the guest programs (32-bit code)
 */
#ifndef VMX_INTERNAL_H
#define VMX_INTERNAL_H
#include <asm/pt_walk.h>
#include <asm/vmx.h>
#include <asm/vmx_vmcs.h>
#include <vigil/config.h>
#include <vigil/types.h>
#include <vigil/virt.h>

/* ---- capabilities (vmx_probe.c), valid once vmx_probe() succeeded ---- */
struct vmx_caps {
	bool probed;               /* probe succeeded */
	uint64_t basic;            /* IA32_VMX_BASIC */
	uint64_t ept_vpid;         /* IA32_VMX_EPT_VPID_CAP */
	uint32_t revision;         /* VMCS revision identifier (BASIC 30:0) */
	/* Control values computed from the allowed-0/allowed-1 settings
	 * (A.3-A.5, using the TRUE_ MSRs when BASIC bit 55 says they exist). */
	uint32_t pin, proc, proc2, exit, entry;
	bool load_efer;            /* entry and exit load IA32_EFER */
	unsigned eptp_memtype;     /* VMX_MEMTYPE_WB or _UC for the EPTP (29.3.6) */
	unsigned invept_type;      /* INVEPT_SINGLE_CONTEXT or _ALL_CONTEXT */
};
extern struct vmx_caps vmx_caps;

int vmx_probe(char *why, size_t len);
/* vmx_compat.c */
void vmx_snapshot(struct virt_compat *c);
/* IA32_FEATURE_CONTROL of this CPU, locked with VMXON enabled first if the
 * firmware left it unlocked (24.7); *found (if not NULL) gets the value
 * before that.  -1 when the MSR cannot be read. */
int vmx_feature_control(uint64_t *val, uint64_t *found);

/* rdmsr/wrmsr surviving a #GP (the #GP fixup of arch/x86/traps.c). */

/* ---- per-CPU state (vmx_cpu.c) ---- */
enum vmx_cpu_state {
	VMX_CPU_OFF = 0,
	VMX_CPU_ENABLING,   /* CR4.VMXE being set / VMXON executing */
	VMX_CPU_ON,         /* in VMX root operation */
	VMX_CPU_DISABLING,  /* VMXOFF executing / CR4.VMXE being cleared */
};
struct vmx_cpu {
	uint64_t vmxon_pa;             /* 4 KiB VMXON region (25.11.5) */
	/* The VMCS that may be active on this CPU (VMPTRLD done, VMCLEAR not
	 * yet), or 0.  Set before VMPTRLD, cleared after VMCLEAR, so that an
	 * NMI's emergency disable always finds it. */
	volatile uint64_t loaded_vmcs;
	volatile int state;            /* enum vmx_cpu_state */
	uint64_t cr0_set;              /* CR0 bits enable() had to set */
};
extern struct vmx_cpu vmx_cpus[CONFIG_MAX_CPUS];

int vmx_prepare_cpu(unsigned cpu);
int vmx_enable(char *why, size_t len);
void vmx_disable(void);
bool vmx_hw_enabled(void);
void vmx_emergency_disable(void);
/* This CPU is in VMX root operation by our own VMXON. */
bool vmx_this_cpu_on(void);

/* ---- VMCS (vmx_vmcs.c) ---- */
/* The operand of SGDT/SIDT/LGDT/LIDT in 64-bit mode. */
struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;


/* Accumulates the first VMWRITE that failed while filling a VMCS. */
struct vmcs_writer {
	bool failed;
	uint64_t field;
	uint32_t error;       /* VM-instruction error of that VMWRITE */
};
void vmcs_w(struct vmcs_writer *w, uint64_t field, uint64_t value);

/* Allocate a VMCS, stamp the revision, VMCLEAR and VMPTRLD it (tracked as
 * this CPU's loaded VMCS).  Returns its physical address, or 0 with why. */
uint64_t vmx_vmcs_load_new(char *why, size_t len);
/* VMCLEAR it, stop tracking it, free it. */
void vmx_vmcs_release(uint64_t pa);
/* Controls (execution, exit, entry) and the host-state area (27.2). */
void vmx_vmcs_setup_host_and_controls(struct vmcs_writer *w, uint64_t eptp);

/* ---- a VM (vmx_vm.c) and its EPT (vmx_ept.c, built by asm/pt_walk.h) ---- */
struct vmx_vm {
	struct pt ept;        /* ept.tables: paging-structure pages, PML4 included */
	uint64_t eptp;
};
int vmx_vm_init(struct vm *vm, char *why, size_t len);
void vmx_vm_destroy(struct vm *vm);
int vmx_vm_map_slot(struct vm *vm, const struct vm_slot *s, char *why, size_t len);
void vmx_vm_unmap_slot(struct vm *vm, const struct vm_slot *s);
/* The PML4 and the EPTP naming it.  0 or -1 (no memory). */
int vmx_ept_init(struct vmx_vm *v);
int vmx_ept_map(struct vmx_vm *v, uint64_t gpa, uint64_t hpa, uint64_t size, char *why, size_t len);
/* Unmap, then invalidate here (vmx_ept_free too). */
void vmx_ept_unmap(struct vmx_vm *v, uint64_t gpa, uint64_t size);
void vmx_ept_free(struct vmx_vm *v);
/* Invalidate this VM's guest-physical mappings on this CPU (VMX on). */
void vmx_ept_flush_local(const struct vmx_vm *v);

/* ---- the guest (vmx_guest.c, vmx_guest_code.asm) ---- */
/* Guest general-purpose registers, saved and restored by vmx_entry.asm
 * (the offsets there must match: checked with static asserts). */
struct vmx_guest_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};
#define VMX_GUEST_CODE_GPA 0x1000ULL
/* Copy the guest program into slot 0 and fill the guest-state area. */
int vmx_guest_load(struct vm *vm, enum guest_kind kind, struct vmcs_writer *w, char *why, size_t len);

/* ---- entry (vmx_entry.asm) ---- */
/* VMLAUNCH (launched == 0) or VMRESUME with the guest registers in regs.
 * Returns VMX_OK after a VM exit (regs then hold the guest's registers),
 * VMX_FAIL_VALID or VMX_FAIL_INVALID when the instruction itself failed. */
int vmx_enter(struct vmx_guest_regs *regs, int launched);
/* HOST_RIP: where every VM exit lands. */
void vmx_exit_stub(void);

/* ---- one VM exit (vmx_exit.c) ---- */
enum vmx_exit_action {
	VMX_EXIT_CONTINUE,         /* handled: enter the guest again */
	VMX_EXIT_STOP_GUEST,       /* the guest misbehaved: run->why */
	VMX_EXIT_STOP_HOST,        /* the host side is broken: run->why, vcpu_run returns -1 */
};
enum vmx_exit_action vmx_handle_exit(struct vm *vm, struct vcpu_run *run, struct vmx_guest_regs *regs,
				     uint32_t reason);

/* ---- vcpu_run (vmx_run.c) ---- */
int vmx_vcpu_run(struct vm *vm, struct vcpu_run *run);
/* "VM entry with invalid control field(s)"... (31.4). */
const char *vmx_insn_error_name(unsigned err);

/* ---- live vCPUs (vmx_vcpu.c), vigil/vcpu.h ---- */
struct vcpu;
int vmx_vcpu_create(struct vcpu *vcpu, char *why, size_t len);
void vmx_vcpu_destroy(struct vcpu *vcpu);
int vmx_vcpu_load(struct vcpu *vcpu, unsigned cpu, char *why, size_t len);
bool vmx_vcpu_enter(struct vcpu *vcpu);
enum vcpu_exit_action vmx_vcpu_handle_exit(struct vcpu *vcpu);

#endif

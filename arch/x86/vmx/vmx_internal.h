/*
 * What the files of the VMX backend share.  Nothing outside arch/x86/vmx/
 * includes this; the rest of the kernel sees only vmx_ops (asm/vmx.h).
 *
 *   vmx_probe.c     capability MSRs, probe, the controls every VMCS uses
 *   vmx_compat.c    the compatibility snapshot
 *   vmx_cpu.c       per-CPU VMXON region, enable/disable/emergency disable
 *   vmx_vmcs.c      VMCS life cycle (tracked per CPU), controls, host state
 *   vmx_loaded.c    the per-CPU list of VMCSs active on a CPU
 *   vmx_vcpu.c      live vCPUs: create, load (migration), enter, exit, destroy
 *   vmx_decode.c    a VM exit decoded into the exit layer's terms (asm/vexit.h)
 *   vmx_invariants.c  `check`: VMCS lists consistent with the CPUs
 *   vmx_vcpu_selftest.c, vmx_vcpu_bench.c, vmx_vcpu_testlib.c (vmx_vcpu_test.h)
 *                   the live vCPUs' self-test and exit round-trip benches
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
#include <asm/vexit.h>
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
/* At most this many VMCSs active on one CPU at a time; loading one more
 * evicts (VMCLEARs) the least recently loaded. */
#define VMX_MAX_LOADED 16
struct vmx_cpu {
	uint64_t vmxon_pa;             /* 4 KiB VMXON region (25.11.5) */
	/* The VMCSs that may be active on this CPU (VMPTRLD done here,
	 * VMCLEAR not yet): 0 in a free slot.  Written only by this CPU, with
	 * interrupts off; a slot is set before VMPTRLD and cleared after
	 * VMCLEAR, so that disable() and an NMI's emergency disable always
	 * find every VMCS whose state VMXOFF would otherwise lose (25.1,
	 * 25.11.1).  Read by other CPUs only in the `check` invariant. */
	volatile uint64_t loaded[VMX_MAX_LOADED];
	uint64_t loaded_stamp[VMX_MAX_LOADED];  /* when it was loaded: eviction order */
	uint64_t stamp;
	/* The current VMCS (the last VMPTRLD), or 0 when none or unknown. */
	volatile uint64_t current_vmcs;
	volatile int state;            /* enum vmx_cpu_state */
	uint64_t cr0_set;              /* CR0 bits enable() had to set */
	/* VMCSs the emergency path VMCLEARed before its VMXOFF (since boot). */
	volatile uint64_t emergency_vmclears;
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

/* Allocate a VMCS, stamp the revision, VMCLEAR and VMPTRLD it (tracked in
 * this CPU's list).  Returns its physical address, or 0 with why. */
uint64_t vmx_vmcs_load_new(char *why, size_t len);
/* VMCLEAR it, stop tracking it, free it. */
void vmx_vmcs_release(uint64_t pa);
/* A zeroed VMCS region with this CPU's revision identifier (25.2), not yet
 * active anywhere: its physical address, or 0 (no memory). */
uint64_t vmx_vmcs_alloc(void);
/* Controls (execution, exit, entry) and the host-state area (27.2). */
void vmx_vmcs_setup_host_and_controls(struct vmcs_writer *w, uint64_t eptp);
void vmx_vmcs_setup_controls(struct vmcs_writer *w, uint64_t eptp);
/* The host-state area as this CPU is now: what differs between CPUs (TR,
 * GDTR, IDTR, GS bases) is rewritten when a VMCS moves to another CPU. */
void vmx_vmcs_setup_host(struct vmcs_writer *w);

/* ---- the per-CPU list of active VMCSs (vmx_loaded.c) ---- */
/* This CPU, interrupts off, VMX on: make pa active and current here
 * (VMCLEAR first when fresh: a new region's launch state must be made
 * "clear", 25.11.3), evicting the oldest VMCS when the list is full.
 * *slot (if not NULL) gets its index in the list (vmx_cpus[cpu].loaded[]),
 * valid until it is cleared.  0, or -1 with why (pa is then not on the
 * list). */
int vmx_loaded_add(uint64_t pa, bool fresh, int *slot, char *why, size_t len);
/* This CPU, interrupts off: VMCLEAR pa if it is on the list (VMX on) and
 * take it off.  true if it was there. */
bool vmx_loaded_clear(uint64_t pa);
/* This CPU, interrupts off or NMI: VMCLEAR every VMCS on the list (when
 * in_vmx: VMCLEAR outside VMX operation is #UD) and empty it.  Returns how
 * many; no locks, no printk. */
unsigned vmx_loaded_clear_all(bool in_vmx);
/* Is pa on cpu's list?  Exact on that CPU with interrupts off. */
bool vmx_loaded_has(unsigned cpu, uint64_t pa);
unsigned vmx_loaded_count(unsigned cpu);
/* VMPTRLD pa here if it is not the current VMCS already. 0 or VMX_FAIL_*. */
int vmx_make_current(uint64_t pa);
/* Generation of the lists for the `check` invariant: every change brackets
 * itself with vmx_loaded_change_begin/end. */
void vmx_loaded_change_begin(void);
void vmx_loaded_change_end(void);
bool vmx_loaded_stable(uint64_t *gen);
/* The `check` invariant vmx_vmcs_lists (vmx_invariants.c): 0 or -1 with why. */
int vmx_vmcs_lists_check(char *why, size_t len);

/* ---- a VM (vmx_vm.c) and its EPT (vmx_ept.c, built by asm/pt_walk.h) ---- */
struct vmx_vm {
	struct pt ept;        /* ept.tables: paging-structure pages, PML4 included */
	uint64_t eptp;
	/* Serializes the EPT-violation path's lookup-and-map with the zap of
	 * a slot change (arch/x86/virt/guest_fault.c).  A pointer:
	 * vigil/spinlock.h and asm/cpu.h do not mix. */
	struct spinlock *ept_lock;
	/* Zaps so far: a vCPU whose last INVEPT saw an older value does one
	 * before its next entry (vmx_vcpu.c). */
	uint64_t tlb_gen;
};
int vmx_vm_init(struct vm *vm, char *why, size_t len);
void vmx_vm_destroy(struct vm *vm);
int vmx_vm_map_slot(struct vm *vm, const struct vm_slot *s, char *why, size_t len);
void vmx_vm_unmap_slot(struct vm *vm, const struct vm_slot *s);
void vmx_vm_zap_range(struct vm *vm, uint64_t gpa, uint64_t size);
/* The PML4 and the EPTP naming it.  0 or -1 (no memory). */
int vmx_ept_init(struct vmx_vm *v);
int vmx_ept_map(struct vmx_vm *v, uint64_t gpa, uint64_t hpa, uint64_t size, char *why, size_t len);
/* Unmap, then invalidate here (vmx_ept_free too). */
void vmx_ept_unmap(struct vmx_vm *v, uint64_t gpa, uint64_t size);
/* One 4 KiB page on an EPT violation: readable and executable, writable
 * or not; overwrites an entry another vCPU's fault put there.  0 or
 * -WHY_NOMEM. */
int vmx_ept_map_page(struct vmx_vm *v, uint64_t gpa, uint64_t hpa, bool writable);
void vmx_ept_free(struct vmx_vm *v);
/* Invalidate this VM's guest-physical mappings on this CPU (VMX on). */
void vmx_ept_flush_local(const struct vmx_vm *v);

/* ---- the guest (vmx_guest.c, vmx_guest_code.asm) ---- */
/* Guest general-purpose registers, saved and restored by vmx_entry.asm
 * (the offsets there must match: checked with static asserts). */
struct vmx_guest_regs {
	/* First, in the exit layer's own struct: it works on them in place
	 * (asm/vexit.h), no copy on the exit path. */
	struct guest_gprs g;      /* rax, rbx, rcx, rdx */
	uint64_t rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};
#define VMX_GUEST_CODE_GPA 0x1000ULL
/* Copy the guest program into slot 0 and fill the guest-state area.  With
 * w NULL, only copy (a live vCPU writes its VMCS at its first load). */
int vmx_guest_load(struct vm *vm, enum guest_kind kind, struct vmcs_writer *w, char *why, size_t len);
/* The guest-state area of the built-in guest's start (the current VMCS). */
void vmx_guest_state(const struct vm *vm, struct vmcs_writer *w);
/* After vmx_guest_load: vCPU index of nr's own registers and stack (the
 * pattern guest's layout, asm/vexit.h); nothing for the other guests. */
int vmx_guest_place(const struct vm *vm, enum guest_kind kind, unsigned index, unsigned nr, struct vmcs_writer *w,
		    struct vmx_guest_regs *regs, char *why, size_t len);

/* ---- entry (vmx_entry.asm) ---- */
/* VMLAUNCH (launched == 0) or VMRESUME with the guest registers in regs.
 * Returns VMX_OK after a VM exit (regs then hold the guest's registers),
 * VMX_FAIL_VALID or VMX_FAIL_INVALID when the instruction itself failed. */
int vmx_enter(struct vmx_guest_regs *regs, int launched);
/* HOST_RIP: where every VM exit lands. */
void vmx_exit_stub(void);

/* ---- one VM exit (vmx_exit.c) ---- */
struct vmx_exit_decoded;
/* Hand a decoded exit to the exit layer (asm/vexit.h), accounting in acct;
 * *skip: move RIP past the instruction (d->info.insn_len) before the next
 * entry. */
enum vcpu_exit_action vmx_exit_handle(struct vm *vm, struct vcpu_run *acct, struct vmx_guest_regs *regs,
				      struct vmx_exit_decoded *d, bool *skip);

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
struct vmx_vcpu_stats {
	int cpu;                   /* where its VMCS was last made active, -1 none */
	uint64_t vmcs;
	uint64_t launches, remote_clears, reloads;
};
void vmx_vcpu_stats(const struct vcpu *vcpu, struct vmx_vcpu_stats *s);

/* ---- decoding an exit for the exit layer (vmx_decode.c) ---- */
#define VMX_DETAIL_LEN 160
struct vmx_exit_decoded {
	struct vexit_info info;
	bool host_nmi;             /* an NMI for the host: handed to its handler already */
	uint64_t cs_base;          /* EPT violations: GUEST_CS_BASE, where the instruction is */
	char detail[VMX_DETAIL_LEN];  /* info.detail points here when set */
};
/* Right after vmx_enter returned r with the VMCS still current: decode the
 * exit (or the failed entry) into d.  launched: VMRESUME was used.  For an
 * NMI exit, calls the host's NMI handler. */
void vmx_decode_exit(int r, int launched, struct vmx_exit_decoded *d);

#endif

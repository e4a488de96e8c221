/*
 * What the files of the SVM backend share.  Nothing outside arch/x86/svm/
 * includes this: the rest of the kernel sees only svm_ops (asm/svm.h) through
 * the virt_ops interface (vigil/virt.h).
 */
#ifndef ARCH_X86_SVM_INTERNAL_H
#define ARCH_X86_SVM_INTERNAL_H
#include <asm/pt_walk.h>
#include <asm/svm.h>
#include <vigil/config.h>
#include <vigil/virt.h>

/* ---- svm_probe.c: what the boot CPU offers (filled by svm_probe) ---- */
struct svm_caps {
	bool probed;
	uint32_t revision;         /* CPUID 0x8000000A EAX[7:0] */
	uint32_t nr_asids;         /* CPUID 0x8000000A EBX */
	uint32_t features;         /* CPUID 0x8000000A EDX */
	unsigned maxphyaddr;       /* CPUID 0x80000008 EAX[7:0] */
};
extern struct svm_caps svm_caps;
int svm_probe(char *why, size_t len);

/* ---- svm_compat.c ---- */
void svm_snapshot(struct virt_compat *c);

/* ---- svm_cpu.c: per-CPU pages and turning SVM on and off ---- */
/* Host save area named by VM_HSAVE_PA (15.30.4), one page per possible CPU. */
extern uint64_t svm_hsave_pa[CONFIG_MAX_CPUS];
/* Where VMSAVE puts the host's FS/GS/TR/LDTR/syscall MSRs around a guest
 * run (15.5.2): a separate page, because the host save area's layout is the
 * processor's business. */
extern uint64_t svm_host_vmsave_pa[CONFIG_MAX_CPUS];
/* Which vCPU (struct svm_vcpu.id, never 0) last entered a guest on this
 * CPU, 0 when unknown (after enable, or after a vm run there): an entry by
 * any other flushes its ASID and marks its whole VMCB dirty (svm_vcpu.c).
 * Written by the CPU itself with interrupts off. */
extern uint64_t svm_last_vcpu[CONFIG_MAX_CPUS];
int svm_prepare_cpu(unsigned cpu);
int svm_enable(char *why, size_t len);
void svm_disable(void);
bool svm_hw_enabled(void);
void svm_emergency_disable(void);

/* ---- svm_npt.c: nested page tables (15.25), built by asm/pt_walk.h ---- */
int svm_npt_init(struct pt *npt);
int svm_npt_map(struct pt *npt, uint64_t gpa, uint64_t hpa, uint64_t size, char *why, size_t len);
void svm_npt_unmap(struct pt *npt, uint64_t gpa, uint64_t size);
/* One 4 KiB page on a nested page fault: writable or not; an entry already
 * there (another vCPU's fault got first) is overwritten with the same.
 * 0, or -WHY_NOMEM. */
int svm_npt_map_page(struct pt *npt, uint64_t gpa, uint64_t hpa, bool writable);
void svm_npt_free(struct pt *npt);

/* ---- svm_vm.c: per-VM state ---- */
struct svm_vm {
	struct pt npt;             /* its root is nCR3 */
	/* Serializes the fault path's lookup-and-map with the zap of a slot
	 * change, so that a page looked up in a set being replaced is mapped
	 * before the zap that removes it, never after (svm_npf.c). */
	struct spinlock *npt_lock; /* (a pointer: vigil/spinlock.h and asm/cpu.h do not mix) */
	/* Zaps so far: a vCPU whose last flush saw an older value flushes the
	 * guest's ASID before its next entry (svm_vcpu.c). */
	uint64_t tlb_gen;
	uint64_t iopm_pa;          /* 12 KiB of ones: every port intercepted */
	uint64_t msrpm_pa;         /* 8 KiB of ones: every MSR intercepted */
};
int svm_vm_init(struct vm *vm, char *why, size_t len);
void svm_vm_destroy(struct vm *vm);
int svm_vm_map_slot(struct vm *vm, const struct vm_slot *s, char *why, size_t len);
void svm_vm_unmap_slot(struct vm *vm, const struct vm_slot *s);
void svm_vm_zap_range(struct vm *vm, uint64_t gpa, uint64_t size);

/* ---- svm_npf.c: nested page faults, from the memory slots ---- */
struct vcpu_run;
struct svm_guest_regs;
/* A #VMEXIT(NPF) (15.25.6): map the page from the VM's slots and re-enter
 * without moving RIP, or complete the access as MMIO (asm/mmio_insn.h). */
enum vcpu_exit_action svm_npf_handle(struct vm *vm, struct vmcb *v, struct svm_guest_regs *regs,
				     struct vcpu_run *run);

/* ---- svm_guest.c + svm_guest_code.asm: the built-in guest ---- */
#define SVM_GUEST_ENTRY     0x1000ULL   /* guest-physical address of its code */
#define SVM_GUEST_WILD_GPA  0x40000000ULL
/* CPUID 0x40000000 EBX:ECX:EDX as the guest sees it. */
#define SVM_CPUID_SIGNATURE "VigilHV SVM "
/* Where a vCPU of the guest starts: RIP, RSP and the registers
 * GUEST_PATTERN takes its vCPU index, area and area size in. */
struct svm_guest_start {
	uint64_t rip, rsp;
	uint64_t rcx, rsi, rdi;
};
/* Copy the code of kind into slot 0 (unless it is there already) and say
 * where vCPU index of nr starts.  0, or -1 with why. */
int svm_guest_load(struct vm *vm, enum guest_kind kind, unsigned index, unsigned nr, struct svm_guest_start *st,
		   char *why, size_t len);

/* ---- svm_entry.asm: one VMRUN ---- */
/* Guest GPRs that the VMCB does not hold (RAX and RSP live in the VMCB). */
struct svm_guest_regs {
	uint64_t rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};
_Static_assert(__builtin_offsetof(struct svm_guest_regs, rbp) == 40, "svm_entry.asm offsets");
_Static_assert(__builtin_offsetof(struct svm_guest_regs, r15) == 104, "svm_entry.asm offsets");
/* VMLOAD guest -> VMRUN -> VMSAVE guest -> VMLOAD host (from
 * host_vmsave_pa, which svm_enable filled).  Call with GIF clear (CLGI). */
void svm_vmrun(uint64_t vmcb_pa, struct svm_guest_regs *regs, uint64_t host_vmsave_pa);

/* ---- svm_vmcb.c ---- */
void svm_vmcb_setup(struct vmcb *v, const struct svm_vm *sv, uint64_t rip, uint64_t rsp);
/* VMEXIT_INVALID: which consistency check of 15.5.1 the VMCB fails, by
 * checking them again in software ("" if none is recognised). */
const char *svm_vmcb_invalid_reason(const struct vmcb *v);
void svm_vmcb_dump(const struct vmcb *v);

/* ---- svm_exit.c: one #VMEXIT, through the exit layer (asm/vexit.h) ---- */
struct vexit_info;
/* Decode the exit in v (detail: a buffer for the words e->detail points
 * to).  entry_check: what svm_vmcb_invalid_reason() said of the VMCB before
 * its first VMRUN, used for VMEXIT_INVALID (the processor may have written
 * its own state over the save area by then, as Bochs does). */
void svm_exit_decode(const struct vmcb *v, const char *entry_check, struct vexit_info *e, char *detail,
		     size_t len);
/* Decode, hand to vexit_handle(), apply its answer to v and regs (RIP past
 * the instruction when it says so), accounting in run.  Host-only events
 * (NMI, SMI, INIT) are counted as VEXIT_OTHER and continue. */
enum vcpu_exit_action svm_exit_handle(struct vm *vm, struct vmcb *v, struct svm_guest_regs *regs,
				      struct vcpu_run *run, const char *entry_check);

/* ---- svm_run.c ---- */
int svm_vcpu_run(struct vm *vm, struct vcpu_run *run);
/* One entry from interrupts off, with the host's IF set at VMRUN so that a
 * physical interrupt makes the guest exit (15.21.1): CLGI, STI, VMRUN, CLI,
 * STGI.  Returns with interrupts off and the interrupt still pending. */
void svm_vmrun_irqs_open(uint64_t vmcb_pa, struct svm_guest_regs *regs, uint64_t host_vmsave_pa);
/* Set the guest's RFLAGS.IF (only Bochs looks at it: svm_run.c). */
void svm_vmcb_guest_if(struct vmcb *v);

uint64_t svm_read_vm_cr(void);

/* The instruction length nRIP gives (svm_exit.c), or 0 when it cannot be
 * trusted and the instruction must be decoded. */
unsigned svm_nrip_length(uint32_t features, uint64_t rip, uint64_t next_rip);

/* ---- live vCPUs (svm_vcpu.c), vigil/vcpu.h ---- */
struct vcpu;
int svm_vcpu_create(struct vcpu *vcpu, char *why, size_t len);
void svm_vcpu_destroy(struct vcpu *vcpu);
int svm_vcpu_load(struct vcpu *vcpu, unsigned cpu, char *why, size_t len);
bool svm_vcpu_enter(struct vcpu *vcpu);
enum vcpu_exit_action svm_vcpu_handle_exit(struct vcpu *vcpu);

/* Self-tests: does this CPU's LAPIC timer tick within ms (interrupts on)?
 * Proof that GIF is set: a CPU left with GIF clear takes no interrupt. */
bool svm_timer_ticks_within(uint64_t ms);

#endif

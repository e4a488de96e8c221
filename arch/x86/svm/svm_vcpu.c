/*
 * Live vCPUs on SVM (vigil/vcpu.h; the core's loop calls these through
 * struct virt_ops).  Each vCPU has its own VMCB and the general registers
 * VMRUN does not switch; all vCPUs of a VM share its nested page tables and
 * permission maps (svm_vm.c), and all guests run under ASID 1.
 *
 * What has to happen when, AMD APM vol 2:
 *   - VMCB clean bits (15.15.3) may stay set only while the VMCB keeps
 *     running on the CPU that cached it; when it moves to another CPU, or
 *     another VMCB ran here in between, they are cleared for one entry.
 *   - TLB (15.16): translations are tagged by ASID, and every VM uses ASID 1,
 *     so an entry flushes the ASID (TLB_CONTROL=3 with FLUSH_BY_ASID, else
 *     1, everything) when the vCPU changed CPU since its last entry, or when
 *     another vCPU or a `vm run` entered a guest on this CPU since
 *     (svm_last_vcpu[]).  A vCPU that keeps running on one CPU never flushes.
 *   - Interrupts (15.17, 15.21.1): the entry is made with GIF clear and the
 *     host's IF set, as svm_run.c does, so a physical interrupt (INTR
 *     intercept, V_INTR_MASKING) makes the guest exit at once; it stays
 *     pending through CLI and STGI and the host takes it when the core's loop
 *     turns interrupts back on.  NMIs are intercepted too and taken after
 *     STGI: a panic's NMI finds the CPU between two entries with GIF set and
 *     the host's state loaded, so the emergency disable (svm_cpu.c) leaves
 *     SVM there as from anywhere else.
 *   - The host's VMSAVE state is saved once per enable (svm_cpu.c); an entry
 *     is VMLOAD guest, VMRUN, VMSAVE guest, VMLOAD host (svm_entry.asm).
 */
#include "svm_internal.h"
#include <stdarg.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/vcpu.h>

struct svm_vcpu {
	uint64_t id;                   /* never 0: whose entry svm_last_vcpu[] records */
	uint64_t vmcb_pa;
	struct vmcb *vmcb;
	int cpu;                       /* of the last vcpu_load, -1 before the first */
	uint64_t tlb_gen;              /* the VM's svm_vm.tlb_gen at its last flush */
	const char *entry_check;       /* svm_vmcb_invalid_reason() at create */
	struct svm_guest_regs regs;
};

static uint64_t next_vcpu_id;

__printf(3, 4) static int fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static uint8_t flush_control(void)
{
	return (svm_caps.features & SVM_FEAT_FLUSH_BY_ASID) ? SVM_TLB_FLUSH_ASID : SVM_TLB_FLUSH_ALL;
}

/* The next entry flushes the guest's ASID and reloads the whole VMCB. */
static void mark_dirty(struct svm_vcpu *sv)
{
	sv->vmcb->control.tlb_control = flush_control();
	sv->vmcb->control.clean = 0;
}

int svm_vcpu_create(struct vcpu *vcpu, char *why, size_t len)
{
	struct vm *vm = vcpu->vm;
	struct svm_vm *svm = vm->arch;
	if (!svm)
		return fail(why, len, "VM %u has no nested page tables (vm_init did not run)", vm->id);
	struct svm_vcpu *sv = kzalloc(sizeof(*sv));
	uint64_t pa = pmm_alloc_page();
	if (!sv || !pa) {
		if (pa)
			pmm_free_page(pa);
		kfree(sv);
		return fail(why, len, "out of memory for the VMCB of vCPU %u", vcpu->index);
	}
	struct svm_guest_start st;
	if (svm_guest_load(vm, vm->guest, vcpu->index, vm->nr_vcpus ? vm->nr_vcpus : 1, &st, why, len)) {
		pmm_free_page(pa);
		kfree(sv);
		return -1;
	}
	sv->id = __atomic_add_fetch(&next_vcpu_id, 1, __ATOMIC_RELAXED);
	sv->vmcb_pa = pa;
	sv->vmcb = phys_to_virt(pa);
	sv->cpu = -1;
	svm_vmcb_setup(sv->vmcb, svm, st.rip, st.rsp);
	/* Only Bochs looks at it (svm_run.c says why); the host's IF at VMRUN,
	 * always 1 here, decides about physical interrupts. */
	svm_vmcb_guest_if(sv->vmcb);
	sv->regs.rcx = st.rcx;
	sv->regs.rsi = st.rsi;
	sv->regs.rdi = st.rdi;
	sv->entry_check = svm_vmcb_invalid_reason(sv->vmcb);
	vcpu->run.guest = vm->guest;
	vcpu->arch = sv;
	return 0;
}

void svm_vcpu_destroy(struct vcpu *vcpu)
{
	struct svm_vcpu *sv = vcpu->arch;
	if (!sv)
		return;
	/* No CPU keeps anything of it that matters: its id is never reused,
	 * so no svm_last_vcpu[] entry can match a later vCPU. */
	pmm_free_page(sv->vmcb_pa);
	kfree(sv);
	vcpu->arch = NULL;
}

int svm_vcpu_load(struct vcpu *vcpu, unsigned cpu, char *why, size_t len)
{
	struct svm_vcpu *sv = vcpu->arch;
	if (sv->cpu == (int)cpu)
		return 0;
	if (cpu >= CONFIG_MAX_CPUS || !svm_host_vmsave_pa[cpu])
		return fail(why, len, "CPU %u has no host state page (prepare_cpu did not run)", cpu);
	sv->cpu = (int)cpu;
	mark_dirty(sv);
	return 0;
}

bool svm_vcpu_enter(struct vcpu *vcpu)
{
	struct svm_vcpu *sv = vcpu->arch;
	unsigned cpu = (unsigned)sv->cpu;
	/* Interrupts are off: a disable (reboot's IPI) ran before this or runs
	 * after the exit, never in between.  With SVME clear CLGI would #UD.
	 * (The caller is the vCPU task, which turns interrupts on after every
	 * exit; a caller that kept them off, such as an IPI callback, would
	 * see every entry end at once on the interrupt it never takes.) */
	if (!svm_hw_enabled())
		return false;
	if (svm_last_vcpu[cpu] != sv->id) {
		mark_dirty(sv);
		svm_last_vcpu[cpu] = sv->id;
	}
	/* A slot change zapped nested page table entries since this vCPU's
	 * last flush: translations cached under ASID 1 may still point at the
	 * old pages (15.16.1), on this CPU too. */
	struct svm_vm *svm = vcpu->vm->arch;
	uint64_t gen = __atomic_load_n(&svm->tlb_gen, __ATOMIC_ACQUIRE);
	if (sv->tlb_gen != gen) {
		sv->vmcb->control.tlb_control = flush_control();
		sv->tlb_gen = gen;
	}
	svm_vmrun_irqs_open(sv->vmcb_pa, &sv->regs, svm_host_vmsave_pa[cpu]);
	/* Until it moves or another guest runs here: no flush, and (when the
	 * processor caches VMCB state) nothing but RIP/RSP/RAX and EVENTINJ
	 * changed, which are always reloaded. */
	sv->vmcb->control.tlb_control = SVM_TLB_FLUSH_NOTHING;
	if (svm_caps.features & SVM_FEAT_VMCB_CLEAN)
		sv->vmcb->control.clean = SVM_CLEAN_ALL_STABLE;
	return true;
}

enum vcpu_exit_action svm_vcpu_handle_exit(struct vcpu *vcpu)
{
	struct svm_vcpu *sv = vcpu->arch;
	enum vcpu_exit_action a = svm_exit_handle(vcpu->vm, sv->vmcb, &sv->regs, &vcpu->run, sv->entry_check);
	if (a == VCPU_EXIT_GUEST_FAILED || a == VCPU_EXIT_HOST_FAILED)
		snprintf(vcpu->error, sizeof(vcpu->error), "%s", vcpu->run.why);
	return a;
}

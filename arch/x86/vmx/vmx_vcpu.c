/*
 * Live vCPUs on VMX (vigil/vcpu.h): one VMCS and one register area per
 * vCPU, for the vCPU's whole life, entered again and again by its task
 * (core/virt/vcpu.c) on whichever CPU the task runs.
 *
 * A VMCS is active on at most one CPU (Intel SDM vol 3C, 25.1, 25.11.1):
 * when the task moved, vcpu_load VMCLEARs it on the CPU where it was
 * active -- by a cross-CPU call, since VMCLEAR acts on the executing
 * CPU's VMCS cache -- then VMPTRLDs it here, and its next entry is a
 * VMLAUNCH (VMCLEAR made its launch state "clear", 25.11.3).  What the
 * VMCS holds about the host and differs between CPUs is written again at
 * such a move (25.5: TR, GDTR and IDTR bases, GS base; the rest is the same
 * on every CPU, and HOST_RSP is written before every entry), and the VM's
 * EPT translations cached here are invalidated (29.4.3.1: they may date
 * from before a change made while the vCPU ran elsewhere).
 *
 * The per-CPU list of active VMCSs (vmx_loaded.c) is the truth about where
 * a VMCS is active: disable() (the last VM going, hotplug, suspend,
 * reboot) and the emergency path VMCLEAR everything on it, and an eviction
 * from a full list VMCLEARs one.  A vCPU whose VMCS is not on its CPU's
 * list any more simply loads it again.
 *
 * Everything that needs the VMCS current and VMX on happens with
 * interrupts off -- in vcpu_load's critical part and in vcpu_enter, which
 * decodes the exit before returning -- because a cross-CPU call taken with
 * interrupts on may turn VMX off here.  vcpu_handle_exit therefore touches
 * no VMCS field: moving RIP past an emulated instruction is remembered and
 * done by the next vcpu_enter.
 *
 * Interrupts: "external-interrupt exiting" is on and "acknowledge
 * interrupt on exit" off (25.6.1, 25.7.1): a physical interrupt during
 * the guest exits (VEXIT_INTR) and stays pending in the local APIC, and the
 * host takes it when the loop turns interrupts on after vcpu_enter.
 */
#include "vmx_internal.h"
#include <vigil/arch.h>
#include <vigil/mm.h>
#include <vigil/sched.h>
#include <vigil/smp.h>
#include <vigil/string.h>
#include <vigil/vcpu.h>

/* RFLAGS.IF (SDM vol 1, 3.4.3.3); asm/cpu.h cannot be included next to
 * vigil/vcpu.h (both define cpu_relax). */
#define RFLAGS_IF (1UL << 9)

struct vmx_vcpu {
	uint64_t vmcs;              /* its VMCS region */
	int cpu;                    /* where it was last made active, -1: nowhere yet */
	int slot;                   /* its index in that CPU's list (vmx_cpus[cpu].loaded) */
	bool initialized;           /* its VMCS fields written (first load) */
	bool launched;              /* VMLAUNCH succeeded since it became active on cpu */
	bool skip_pending;          /* move GUEST_RIP to skip_rip before the next entry */
	uint64_t tlb_gen;           /* the VM's vmx_vm.tlb_gen at its last INVEPT */
	bool has_exit;              /* exit holds an exit not yet handled */
	uint64_t skip_rip;
	struct desc_ptr gdtr, idtr; /* the host's, whose limits a VM exit sets to 0xFFFF (28.5.2) */
	struct vmx_guest_regs regs;
	struct vmx_exit_decoded exit;
	/* For the self-test and the reports. */
	uint64_t launches;          /* VMLAUNCHes: the first entry and the first after every move */
	uint64_t remote_clears;     /* VMCLEARs done on another CPU by a cross-CPU call */
	uint64_t reloads;           /* loads that found it gone from its CPU's list */
};

static void failed(struct vcpu *vcpu, char *why, size_t len, const char *msg)
{
	snprintf(why, len, "%s", msg);
	snprintf(vcpu->error, sizeof(vcpu->error), "%s", msg);
}

int vmx_vcpu_create(struct vcpu *vcpu, char *why, size_t len)
{
	struct vm *vm = vcpu->vm;
	if (!vm || !vm->arch) {
		snprintf(why, len, "VM has no EPT (vm_init not run)");
		return -1;
	}
	if (vm->guest == GUEST_PATTERN) {
		struct guest_pattern_layout l;
		if (guest_pattern_layout(vm->slots[0].size, vm->nr_vcpus, vcpu->index, &l, why, len))
			return -1;
	}
	struct vmx_vcpu *v = kzalloc(sizeof(*v));
	if (!v)
		return why_fail(why, len, WHY_NOMEM, "out of memory for vCPU %u's state", vcpu->index);
	v->vmcs = vmx_vmcs_alloc();
	if (!v->vmcs) {
		kfree(v);
		return why_fail(why, len, WHY_NOMEM, "out of memory for vCPU %u's VMCS", vcpu->index);
	}
	v->cpu = -1;
	/* The program only: the VMCS is written at the first load, where it
	 * is current and VMX is on. */
	if (vmx_guest_load(vm, vm->guest, NULL, why, len)) {
		pmm_free_page(v->vmcs);
		kfree(v);
		return -1;
	}
	vcpu->arch = v;
	return 0;
}

/* Still active on cpu: in the slot of that CPU's list where it was put
 * (a VMCLEAR by disable() or an eviction empties or reuses the slot).
 * O(1): this is on every entry's path. */
static inline bool active_on(const struct vmx_vcpu *v, unsigned cpu)
{
	return v->cpu == (int)cpu && vmx_cpus[cpu].loaded[v->slot] == v->vmcs;
}

/* On the CPU where v's VMCS may be active (a cross-CPU call, interrupts
 * off): VMCLEAR it there if it still is. */
static void clear_here(void *arg)
{
	struct vmx_vcpu *v = arg;
	if (vmx_loaded_clear(v->vmcs))
		v->remote_clears++;
}

/* Not active anywhere any more: VMCLEAR it where it was.  That CPU gone
 * offline has disabled VMX on its way out, which VMCLEARed it. */
static void clear_elsewhere(struct vmx_vcpu *v)
{
	if (v->cpu >= 0)
		(void)smp_call_function_single((unsigned)v->cpu, clear_here, v, true);
	v->cpu = -1;
	v->launched = false;
}

void vmx_vcpu_destroy(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = vcpu->arch;
	if (!v)
		return;
	clear_elsewhere(v);
	pmm_free_page(v->vmcs);
	kfree(v);
	vcpu->arch = NULL;
}

/* Interrupts off, VMX on, v's VMCS just made active and current here:
 * write what this CPU needs (everything, the first time). */
static int write_fields(struct vcpu *vcpu, struct vmx_vcpu *v, char *why, size_t len)
{
	struct vm *vm = vcpu->vm;
	struct vmx_vm *vv = vm->arch;
	struct vmcs_writer w = { 0 };
	if (!v->initialized) {
		vmx_vmcs_setup_controls(&w, vv->eptp);
		vmx_guest_state(vm, &w);
		if (vmx_guest_place(vm, vm->guest, vcpu->index, vm->nr_vcpus ? vm->nr_vcpus : 1, &w, &v->regs, why,
				    len))
			return -1;
		/* The guest's IF does not gate interrupts under
		 * external-interrupt exiting (26.3.1.5 / 25.6.1), but Bochs
		 * re-evaluates interrupt masking only when RFLAGS.IF changes
		 * and the host enters with IF=0: with the guest's IF=1 the
		 * change makes it notice.  No interrupt is ever delivered to
		 * the guest (which has no IDT). */
		vmcs_w(&w, GUEST_RFLAGS, 0x2 | RFLAGS_IF);
	}
	vmx_vmcs_setup_host(&w);
	if (w.failed) {
		snprintf(why, len, "VMWRITE of VMCS field 0x%lx failed (VM-instruction error %u, %s)",
			 (unsigned long)w.field, w.error, vmx_insn_error_name(w.error));
		return -1;
	}
	v->initialized = true;
	vmx_ept_flush_local(vv);
	__asm__ volatile("sgdt %0" : "=m"(v->gdtr));
	__asm__ volatile("sidt %0" : "=m"(v->idtr));
	return 0;
}

/* Everything but the common case, out of line so that the common case
 * pays for no register saves. */
static __attribute__((noinline)) int load_slow(struct vcpu *vcpu, struct vmx_vcpu *v, unsigned cpu, char *why,
					       size_t len)
{
	if (v->cpu >= 0 && v->cpu != (int)cpu)
		clear_elsewhere(v);

	char msg[WHY_MAX];
	int rc = 0;
	unsigned long flags = arch_irq_save();
	if (!vmx_this_cpu_on()) {
		/* Off here for now (this CPU going down after its hotplug
		 * teardown, or the boot CPU between resume and its enable):
		 * nothing to load; vcpu_enter answers false and the loop
		 * finds out why.  Not the vCPU's failure. */
	} else if (active_on(v, cpu)) {
		/* Active here, but another VMCS was made current since. */
		if (vmx_make_current(v->vmcs) != VMX_OK) {
			snprintf(msg, sizeof(msg), "VMPTRLD of vCPU %u's VMCS failed on CPU %u", vcpu->index, cpu);
			rc = -1;
		}
	} else {
		if (v->cpu == (int)cpu)
			v->reloads++;  /* VMCLEARed here by disable() or an eviction */
		rc = vmx_loaded_add(v->vmcs, true, &v->slot, msg, sizeof(msg));
		if (rc == 0) {
			v->cpu = (int)cpu;
			v->launched = false;
			rc = write_fields(vcpu, v, msg, sizeof(msg));
			if (rc)
				(void)vmx_loaded_clear(v->vmcs);
		}
		if (rc)
			v->cpu = -1;
	}
	arch_irq_restore(flags);
	if (rc)
		failed(vcpu, why, len, msg);
	return rc;
}

int vmx_vcpu_load(struct vcpu *vcpu, unsigned cpu, char *why, size_t len)
{
	struct vmx_vcpu *v = vcpu->arch;
	/* The common case: still active and current here.  (Read with
	 * interrupts on: vcpu_enter checks again with them off.) */
	if (active_on(v, cpu) && vmx_cpus[cpu].current_vmcs == v->vmcs)
		return 0;
	return load_slow(vcpu, v, cpu, why, len);
}

bool vmx_vcpu_enter(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = vcpu->arch;
	unsigned cpu = smp_processor_id();
	/* A cross-CPU call between vcpu_load and here may have turned VMX
	 * off (its VMCLEAR took the VMCS off the list) or made another VMCS
	 * current. */
	const struct vmx_cpu *st = &vmx_cpus[cpu];
	if (st->state != VMX_CPU_ON || !active_on(v, cpu) ||
	    (st->current_vmcs != v->vmcs && vmx_make_current(v->vmcs) != VMX_OK))
		return false;
	/* A slot change zapped EPT entries since this vCPU's last INVEPT:
	 * this CPU may still cache the old translations (29.4.3.1). */
	const struct vmx_vm *vv = vcpu->vm->arch;
	uint64_t gen = __atomic_load_n(&vv->tlb_gen, __ATOMIC_ACQUIRE);
	if (v->tlb_gen != gen) {
		vmx_ept_flush_local(vv);
		v->tlb_gen = gen;
	}
	if (v->skip_pending) {
		vmwrite(GUEST_RIP, v->skip_rip);
		v->skip_pending = false;
	}
	int launched = v->launched;
	int r = vmx_enter(&v->regs, launched);
	vmx_decode_exit(r, launched, &v->exit);
	if (r == VMX_OK) {
		/* A VM exit loaded GDTR and IDTR with limit 0xFFFF (28.5.2). */
		__asm__ volatile("lgdt %0" :: "m"(v->gdtr));
		__asm__ volatile("lidt %0" :: "m"(v->idtr));
		/* An entry that failed while loading guest state leaves the
		 * launch state "clear" (27.8); any other exit means it ran. */
		if (!(v->exit.info.raw & EXIT_REASON_ENTRY_FAILURE)) {
			v->launches += !launched;
			v->launched = true;
		}
	}
	v->has_exit = true;
	return true;
}

enum vcpu_exit_action vmx_vcpu_handle_exit(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = vcpu->arch;
	if (!v->has_exit) {
		snprintf(vcpu->run.why, sizeof(vcpu->run.why), "no VM exit to handle (vcpu_enter did not run)");
		snprintf(vcpu->error, sizeof(vcpu->error), "%s", vcpu->run.why);
		return VCPU_EXIT_HOST_FAILED;
	}
	v->has_exit = false;
	bool skip;
	enum vcpu_exit_action a = vmx_exit_handle(vcpu->vm, &vcpu->run, &v->regs, &v->exit, &skip);
	if (skip) {
		v->skip_rip = v->exit.info.rip + v->exit.info.insn_len;
		v->skip_pending = true;
	}
	if (a == VCPU_EXIT_GUEST_FAILED || a == VCPU_EXIT_HOST_FAILED)
		snprintf(vcpu->error, sizeof(vcpu->error), "%s", vcpu->run.why);
	return a;
}

/* For the self-test (vmx_vcpu_selftest.c). */
void vmx_vcpu_stats(const struct vcpu *vcpu, struct vmx_vcpu_stats *s)
{
	const struct vmx_vcpu *v = vcpu->arch;
	s->cpu = v->cpu;
	s->vmcs = v->vmcs;
	s->launches = v->launches;
	s->remote_clears = v->remote_clears;
	s->reloads = v->reloads;
}

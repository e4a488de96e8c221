/*
 * Running the built-in guest on the current CPU (AMD APM vol 2, 15.5
 * "VMRUN", 15.17 "Global Interrupt Flag", 15.21 "Interrupt and LDT
 * handling").
 *
 * Interrupts.  Each entry runs with GIF clear from CLGI until after the
 * #VMEXIT, so the host never takes an interrupt or NMI while its state is
 * half switched (svm_entry.asm).  Physical INTR, NMI and SMI are intercepted
 * and V_INTR_MASKING is set: while the guest runs, the host's RFLAGS.IF as
 * it was at VMRUN decides whether a physical interrupt ends the guest's time
 * slice (15.21.1).  We execute VMRUN with the caller's IF: if the caller had
 * interrupts on (a task with only preemption disabled), a timer tick or an
 * IPI makes the guest exit at once, and the interrupt is taken by the host
 * right after STGI, between two entries -- the host never stays deaf for a
 * long run.  Such an exit counts as VEXIT_INTR.  If the caller had them off
 * (an IPI callback), they stay off for the whole run and the guest is only
 * stopped by its own exits.  NMIs always exit and are taken after STGI.
 *
 * TLB.  Every guest uses ASID 1; the first entry of each run flushes the
 * whole TLB (TLB_CONTROL=1, 15.16.1), which also covers mappings another VM
 * left under ASID 1 on this CPU and slot changes since the last run.
 *
 * Exits go through the one exit layer (svm_exit_handle(), asm/vexit.h), as
 * a live vCPU's do (svm_vcpu.c), so the two paths answer CPUID, port I/O,
 * hypercalls and HLT alike.
 */
#include "svm_internal.h"
#include <stdarg.h>
#include <asm/cpu.h>
#include <asm/percpu.h>
#include <vigil/arch.h>
#include <vigil/inject.h>
#include <vigil/mm.h>
#include <vigil/sched.h>
#include <vigil/string.h>

INJECT_POINT(svm_bad_vmcb,
	     "clear guest EFER.SVME in the next VMCB so VMRUN fails its consistency checks");

/* false (nothing done) when SVM has been turned off on this CPU since the
 * last entry: with the caller's interrupts on, an IPI between two entries
 * may have run disable() (reboot), and CLGI/VMRUN would then #UD.  Checked
 * with interrupts off, so it cannot change before VMRUN (short of an NMI
 * running emergency_disable, after which this CPU does not come back). */
enum entry_result { ENTERED, SVM_OFF, REQUEST_PENDING };

/* With run->req, guest mode is published with interrupts off before CLGI
 * (include/vigil/vcpu_request.h): a kick IPI sent after that is held back
 * by IF, then by GIF, and makes the guest exit at once. */
static enum entry_result enter_guest(uint64_t vmcb_pa, struct svm_guest_regs *regs, uint64_t host_vmsave_pa,
				     struct vcpu_run *run, unsigned cpu)
{
	unsigned long irqs_on = arch_irq_save();
	if (!svm_hw_enabled()) {
		arch_irq_restore(irqs_on);
		return SVM_OFF;
	}
	if (run->req && !vcpu_run_enter_guest_mode(run, cpu)) {
		arch_irq_restore(irqs_on);
		return REQUEST_PENDING;
	}
	if (irqs_on) {
		svm_vmrun_irqs_open(vmcb_pa, regs, host_vmsave_pa);
	} else {
		svm_clgi();
		svm_vmrun(vmcb_pa, regs, host_vmsave_pa);
		svm_stgi();
	}
	if (run->req)
		vcpu_run_exit_guest_mode(run);
	arch_irq_restore(irqs_on);      /* a pending host interrupt is taken here */
	return ENTERED;
}

void svm_vmrun_irqs_open(uint64_t vmcb_pa, struct svm_guest_regs *regs, uint64_t host_vmsave_pa)
{
	svm_clgi();
	sti();                          /* GIF=0 still holds every interrupt back */
	svm_vmrun(vmcb_pa, regs, host_vmsave_pa);
	cli();
	svm_stgi();                     /* IF=0: a pending interrupt waits for the caller's */
}

void svm_vmcb_guest_if(struct vmcb *v)
{
	v->save.rflags |= X86_RFLAGS_IF;
}

__printf(2, 3) static int host_error(struct vcpu_run *run, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(run->why, sizeof(run->why), fmt, ap);
	va_end(ap);
	return -1;
}

int svm_vcpu_run(struct vm *vm, struct vcpu_run *run)
{
	vcpu_run_reset(run);

	unsigned cpu = smp_processor_id();
	if (!in_atomic())
		return host_error(run, "vcpu_run on CPU %u with preemption enabled", cpu);
	if (!svm_hw_enabled())
		return host_error(run, "SVM is not enabled on CPU %u (EFER.SVME=0)", cpu);
	if (cpu >= CONFIG_MAX_CPUS || !svm_host_vmsave_pa[cpu])
		return host_error(run, "CPU %u has no host state page (prepare_cpu did not run)", cpu);
	struct svm_vm *sv = vm->arch;
	if (!sv)
		return host_error(run, "VM %u has no nested page tables (vm_init did not run)", vm->id);

	struct svm_guest_start st;
	if (svm_guest_load(vm, run->guest, 0, 1, &st, run->why, sizeof(run->why)))
		return -1;
	uint64_t vmcb_pa = pmm_alloc_page();
	if (!vmcb_pa)
		return host_error(run, "out of memory for a VMCB on CPU %u", cpu);
	struct vmcb *v = phys_to_virt(vmcb_pa);
	svm_vmcb_setup(v, sv, st.rip, st.rsp);
	/* With V_INTR_MASKING the guest's IF masks only virtual interrupts
	 * (15.21.1) and none is ever posted, so it changes nothing on
	 * hardware; but Bochs re-evaluates interrupt masking only when IF
	 * changes, and would never see the physical interrupts of a run whose
	 * host IF is 1 (the same as VMX in vmx_run.c).  Only then. */
	if (arch_irqs_enabled())
		v->save.rflags |= X86_RFLAGS_IF;
	if (inject_hit(&inject_svm_bad_vmcb, cpu))
		v->save.efer &= ~EFER_SVME;
	/* Checked now, while the save area is still what we wrote: after a
	 * VMEXIT_INVALID it may hold the processor's own state instead. */
	const char *entry_check = svm_vmcb_invalid_reason(v);

	struct svm_guest_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rcx = st.rcx;
	regs.rsi = st.rsi;
	regs.rdi = st.rdi;
	/* This run's first entry flushes ASID 1 and after it the TLB holds
	 * this VM's translations: whichever live vCPU enters here next must
	 * flush again (svm_vcpu.c). */
	svm_last_vcpu[cpu] = 0;
	int ret = 0;
	uint64_t t0 = arch_time_ns(), t1 = t0;
	uint64_t ticks0 = this_cpu()->timer_ticks;
	while (run->exits < run->max_exits) {
		enum entry_result e = enter_guest(vmcb_pa, &regs, svm_host_vmsave_pa[cpu], run, cpu);
		if (e == SVM_OFF) {
			ret = host_error(run, "SVM was turned off on CPU %u during the run", cpu);
			break;
		}
		if (e == REQUEST_PENDING)
			break;
		t1 = arch_time_ns();
		/* The exit layer's answer, as for a live vCPU, except that HLT
		 * does not sleep: a burst goes straight on. */
		enum vcpu_exit_action a = svm_exit_handle(vm, v, &regs, run, entry_check);
		if (a == VCPU_EXIT_HOST_FAILED)
			ret = -1;
		if (a != VCPU_EXIT_CONTINUE && a != VCPU_EXIT_HALT)
			break;
		if (vcpu_run_stop_asked(run))
			break;
		/* From the second entry on: no flush, and (when the processor
		 * caches VMCB state, 15.15.3) nothing but RIP/RSP/RAX and the
		 * event injection field changed. */
		v->control.tlb_control = SVM_TLB_FLUSH_NOTHING;
		if (svm_caps.features & SVM_FEAT_VMCB_CLEAN)
			v->control.clean = SVM_CLEAN_ALL_STABLE;
	}
	run->guest_ns = t1 - t0;
	run->timer_ticks = this_cpu()->timer_ticks - ticks0;
	pmm_free_page(vmcb_pa);
	return ret;
}

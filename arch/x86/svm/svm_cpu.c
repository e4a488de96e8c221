/*
 * Turning SVM on and off on one CPU (AMD APM vol 2, 15.4 "Enabling SVM",
 * 15.30.4 "VM_HSAVE_PA MSR").  SVM is on when EFER.SVME is set; VMRUN then
 * needs VM_HSAVE_PA to name a page where it keeps the host's state while a
 * guest runs.  Each possible CPU gets that page (and a second one for the
 * host's VMSAVE state) once, at boot, so enabling never allocates.
 *
 * The host's VMSAVE state is taken once per enable, not around every entry.
 * VMSAVE stores exactly FS, GS, TR and LDTR with their hidden parts,
 * KernelGsBase, STAR, LSTAR, CSTAR, SFMASK and SYSENTER_CS/ESP/EIP (15.5.2);
 * vigil sets all of them when a CPU starts (GDT, TSS, per-CPU GS base) and
 * never changes them afterwards -- there are no user tasks, no SWAPGS, no
 * FS base per task -- so the image taken here is what VMLOAD must put back
 * after every #VMEXIT until the next disable.  A CPU that loses them (S3,
 * going offline) is disabled first and enabled afresh, which saves again.
 */
#include "svm_internal.h"
#include <asm/cpu.h>
#include <vigil/mm.h>
#include <vigil/sched.h>
#include <vigil/string.h>

uint64_t svm_hsave_pa[CONFIG_MAX_CPUS];
uint64_t svm_host_vmsave_pa[CONFIG_MAX_CPUS];
uint64_t svm_last_vcpu[CONFIG_MAX_CPUS];

static uint64_t alloc_zeroed_page(void)
{
	uint64_t pa = pmm_alloc_page();
	if (pa)
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

int svm_prepare_cpu(unsigned cpu)
{
	if (cpu >= CONFIG_MAX_CPUS)
		return -1;
	/* Idempotent: a CPU hot-added later, or prepared twice, keeps its pages. */
	if (!svm_hsave_pa[cpu] && !(svm_hsave_pa[cpu] = alloc_zeroed_page()))
		return -1;
	if (!svm_host_vmsave_pa[cpu] && !(svm_host_vmsave_pa[cpu] = alloc_zeroed_page()))
		return -1;
	return 0;
}

int svm_enable(char *why, size_t len)
{
	unsigned cpu = smp_processor_id();
	uint64_t efer = rdmsr(MSR_EFER);
	if (efer & EFER_SVME) {
		snprintf(why, len, "EFER.SVME already set: another hypervisor owns this CPU");
		return -1;
	}
	if (cpu >= CONFIG_MAX_CPUS || !svm_hsave_pa[cpu] || !svm_host_vmsave_pa[cpu]) {
		snprintf(why, len, "no host save area for CPU %u (prepare_cpu did not run)", cpu);
		return -1;
	}
	if (svm_read_vm_cr() & VM_CR_SVMDIS) {
		snprintf(why, len, "SVM disabled by firmware (VM_CR.SVMDIS=1)");
		return -1;
	}
	/* Whatever VM_HSAVE_PA held is put back if we fail after touching it. */
	uint64_t old_hsave = 0;
	bool hsave_readable = !rdmsr_safe(MSR_VM_HSAVE_PA, &old_hsave);

	if (wrmsr_safe(MSR_EFER, efer | EFER_SVME)) {
		snprintf(why, len, "setting EFER.SVME faulted (#GP): SVM unavailable on this CPU");
		return -1;
	}
	if (wrmsr_safe(MSR_VM_HSAVE_PA, svm_hsave_pa[cpu])) {
		if (hsave_readable)
			wrmsr_safe(MSR_VM_HSAVE_PA, old_hsave);
		wrmsr(MSR_EFER, efer);
		snprintf(why, len, "writing VM_HSAVE_PA=0x%lx faulted (#GP)", (unsigned long)svm_hsave_pa[cpu]);
		return -1;
	}
	svm_vmsave(svm_host_vmsave_pa[cpu]);
	/* Nothing this CPU's TLB or VMCB cache holds is known to be anyone's:
	 * the next entry of every vCPU here flushes (svm_vcpu.c). */
	svm_last_vcpu[cpu] = 0;
	return 0;
}

/*
 * STGI first: if we were interrupted between CLGI and STGI around a guest
 * run (or an NMI caught us there), GIF is clear, and with EFER.SVME clear
 * STGI would #UD and GIF would stay clear, blocking NMIs and INIT for good
 * (15.17 "Global interrupt flag").  STGI itself needs EFER.SVME, hence the
 * check.  No locks and no printk: emergency_disable runs this from NMI
 * context.
 */
static void svm_cpu_off(void)
{
	uint64_t efer = rdmsr(MSR_EFER);
	if (!(efer & EFER_SVME))
		return;
	svm_stgi();
	wrmsr(MSR_EFER, efer & ~EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, 0);
}

void svm_disable(void)
{
	svm_cpu_off();
}

bool svm_hw_enabled(void)
{
	return rdmsr(MSR_EFER) & EFER_SVME;
}

/* Panic, crash, reboot from NMI context: idempotent, touches the CPU only
 * if SVM is on.  Afterwards GIF is set, so INIT is no longer held pending
 * (15.17), and SVME is clear, so the CPU is an ordinary one again. */
void svm_emergency_disable(void)
{
	svm_cpu_off();
}

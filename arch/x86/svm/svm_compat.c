/*
 * SVM's part of the per-CPU compatibility snapshot.  Every CPU must offer
 * the same SVM (revision, number of ASIDs, feature bits of CPUID 0x8000000A:
 * AMD APM vol 2, 15.4 and appendix E of vol 3), because one VM may run on
 * any of them.  A CPU whose firmware set VM_CR.SVMDIS (15.30.1) cannot enable
 * SVM at all (EFER.SVME writes #GP), whatever the boot CPU says: that makes
 * it unusable on its own.
 */
#include "svm_internal.h"
#include <asm/cpu.h>
#include <vigil/inject.h>
#include <vigil/sched.h>
#include <vigil/string.h>

INJECT_POINT(svm_disabled, "this CPU reports VM_CR.SVMDIS as set");

void svm_snapshot(struct virt_compat *c)
{
	unsigned cpu = smp_processor_id();
	uint32_t max_ext = cpuid(0x80000000).eax;
	bool svm = max_ext >= CPUID_EXT_FEATURES && (cpuid(CPUID_EXT_FEATURES).ecx & CPUID_EXT1_ECX_SVM);
	struct cpuid_regs f = { 0, 0, 0, 0 };
	if (svm && max_ext >= CPUID_SVM_LEAF)
		f = cpuid(CPUID_SVM_LEAF);

	/* Always the same names, so two snapshots compare field by field. */
	virt_compat_add(c, "cpuid.80000001.ecx.svm", svm);
	virt_compat_add(c, "cpuid.8000000a.eax", f.eax);   /* SVM revision */
	virt_compat_add(c, "cpuid.8000000a.ebx", f.ebx);   /* number of ASIDs */
	virt_compat_add(c, "cpuid.8000000a.edx", f.edx);   /* SVM features */

	if (!svm) {
		snprintf(c->unusable, sizeof(c->unusable), "SVM not supported on this CPU (CPUID 0x80000001 ECX[2]=0)");
		return;
	}
	if (inject_hit(&inject_svm_disabled, cpu)) {
		snprintf(c->unusable, sizeof(c->unusable), "SVM disabled by firmware (VM_CR.SVMDIS=1) (injected)");
		return;
	}
	if (svm_read_vm_cr() & VM_CR_SVMDIS)
		snprintf(c->unusable, sizeof(c->unusable), "SVM disabled by firmware (VM_CR.SVMDIS=1)");
}

/*
 * Can this machine do SVM at all?  Asked once, on the boot CPU (AMD APM
 * vol 2, 15.4 "Enabling SVM"): an AMD (or Hygon) processor, CPUID
 * 0x80000001 ECX[2] (SVM), the SVM feature leaf 0x8000000A with nested
 * paging (we have no shadow paging), and the firmware not having disabled
 * SVM through VM_CR.SVMDIS (15.30.1).
 */
#include "svm_internal.h"
#include <asm/cpu.h>
#include <vigil/printk.h>
#include <vigil/string.h>

struct svm_caps svm_caps;

static bool vendor_has_svm(char vendor[13])
{
	struct cpuid_regs r = cpuid(0);
	memcpy(vendor, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = 0;
	/* Hygon's Dhyana is a Zen derivative with the same SVM. */
	return !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");
}

int svm_probe(char *why, size_t len)
{
	char vendor[13];
	if (!vendor_has_svm(vendor)) {
		snprintf(why, len, "not an AMD or Hygon processor (vendor %s): SVM needs AuthenticAMD or HygonGenuine", vendor);
		return -1;
	}
	uint32_t max_ext = cpuid(0x80000000).eax;
	if (max_ext < CPUID_EXT_FEATURES || !(cpuid(CPUID_EXT_FEATURES).ecx & CPUID_EXT1_ECX_SVM)) {
		snprintf(why, len, "SVM not supported (CPUID 0x80000001 ECX[2]=0)");
		return -1;
	}
	if (max_ext < CPUID_SVM_LEAF) {
		snprintf(why, len, "SVM feature leaf CPUID 0x8000000A missing");
		return -1;
	}
	struct cpuid_regs f = cpuid(CPUID_SVM_LEAF);
	if (!(f.edx & SVM_FEAT_NPT)) {
		snprintf(why, len, "SVM without nested paging (CPUID 0x8000000A EDX[0]=0): not supported");
		return -1;
	}
	/* ASID 0 is the host's (15.16); the guest needs at least one more. */
	if (f.ebx < 2) {
		snprintf(why, len, "SVM reports %u ASIDs (CPUID 0x8000000A EBX): at least 2 needed", f.ebx);
		return -1;
	}
	uint64_t vm_cr = svm_read_vm_cr();
	if (vm_cr & VM_CR_SVMDIS) {
		snprintf(why, len, "SVM disabled by firmware (VM_CR.SVMDIS=1)%s",
			 (vm_cr & VM_CR_LOCK) ? ", locked: enable SVM in the firmware setup" : "");
		return -1;
	}

	svm_caps.revision = f.eax & 0xFF;
	svm_caps.nr_asids = f.ebx;
	svm_caps.features = f.edx;
	svm_caps.maxphyaddr = max_ext >= 0x80000008 ? (cpuid(0x80000008).eax & 0xFF) : 36;
	if (svm_caps.probed)
		return 0;
	svm_caps.probed = true;
	printk("svm: revision %u, %u ASIDs, features 0x%x (NPT%s%s%s), %u-bit physical addresses\n",
	       svm_caps.revision, svm_caps.nr_asids, svm_caps.features,
	       (f.edx & SVM_FEAT_NRIPS) ? " NRIPS" : " no-NRIPS",
	       (f.edx & SVM_FEAT_VMCB_CLEAN) ? " VMCB-clean" : "",
	       (f.edx & SVM_FEAT_DECODE_ASSISTS) ? " decode-assists" : "",
	       svm_caps.maxphyaddr);
	return 0;
}

/*
 * VM_CR (APM vol 2, 15.30.1).  Real processors with SVM implement it; Bochs
 * 2.7 does not, and its RDMSR raises #GP.  An unimplemented VM_CR cannot have
 * SVMDIS set, so it reads as 0 here; a CPU that really refused SVM would
 * still be caught when enable writes EFER.SVME (a fault-tolerant write).
 */
uint64_t svm_read_vm_cr(void)
{
	uint64_t v;
	if (rdmsr_safe(MSR_VM_CR, &v))
		return 0;
	return v;
}

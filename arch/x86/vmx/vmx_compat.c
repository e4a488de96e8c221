/*
 * The VMX part of a CPU's compatibility snapshot, which the core compares
 * against the boot CPU's before enabling VMX there (docs/design.md).  The
 * capability MSRs are described in Intel SDM vol 3D, appendix A; the
 * enabling rules (CPUID.1:ECX.VMX, IA32_FEATURE_CONTROL) in 24.6
 * "Discovering support for VMX" and 24.7 "Enabling and entering VMX
 * operation".
 */
#include "vmx_internal.h"
#include <asm/cpu.h>
#include <vigil/inject.h>
#include <vigil/sched.h>
#include <vigil/string.h>

INJECT_POINT(vmx_cap, "this CPU reports a different IA32_VMX_PROCBASED_CTLS2");
INJECT_POINT(vmx_feature_control,
	     "this CPU reports IA32_FEATURE_CONTROL locked with VMXON disabled");

/* The bit vmx_cap flips: "EPT may be enabled" (allowed-1 bit 1 of the
 * secondary controls), so the difference looks like a real one. */
#define VMX_CAP_INJECT_FLIP (1ULL << (32 + 1))


static uint64_t add_msr(struct virt_compat *c, const char *name, uint32_t msr)
{
	uint64_t v = 0;
	if (rdmsr_safe(msr, &v) && !c->unusable[0])
		snprintf(c->unusable, sizeof(c->unusable), "cannot read %s (MSR 0x%x)", name, msr);
	virt_compat_add(c, name, v);
	return v;
}

/*
 * Everything that must be equal on every CPU for one VMCS layout, one set
 * of controls and one EPT format to work everywhere.  Names are the SDM's
 * MSR names without "IA32_" (the snapshot's name field is 27 characters).
 */
void vmx_snapshot(struct virt_compat *c)
{
	unsigned cpu = smp_processor_id();
	bool vmx = cpuid(1).ecx & CPUID_1_ECX_VMX;
	virt_compat_add(c, "CPUID.1:ECX.VMX", vmx);
	if (!vmx) {
		snprintf(c->unusable, sizeof(c->unusable), "no VMX on this CPU (CPUID.1:ECX.VMX=0)");
		return;
	}

	uint64_t fc = 0;
	const char *injected = "";
	if (vmx_feature_control(&fc, NULL)) {
		snprintf(c->unusable, sizeof(c->unusable), "cannot read IA32_FEATURE_CONTROL");
	} else if (inject_hit(&inject_vmx_feature_control, cpu)) {
		fc = FEATURE_CONTROL_LOCKED;
		injected = " (injected)";
	}
	virt_compat_add(c, "IA32_FEATURE_CONTROL", fc & (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON));
	if (!c->unusable[0] && !(fc & FEATURE_CONTROL_VMXON))
		snprintf(c->unusable, sizeof(c->unusable), "VMX disabled by firmware (IA32_FEATURE_CONTROL=0x%lx)%s",
			 (unsigned long)fc, injected);
	else if (!c->unusable[0] && !(fc & FEATURE_CONTROL_LOCKED))
		snprintf(c->unusable, sizeof(c->unusable), "IA32_FEATURE_CONTROL=0x%lx could not be locked",
			 (unsigned long)fc);
	if (!(fc & FEATURE_CONTROL_VMXON))
		return;  /* the VMX MSRs may #GP or lie on such a CPU */

	uint64_t basic = add_msr(c, "VMX_BASIC", MSR_IA32_VMX_BASIC);
	add_msr(c, "VMX_PINBASED_CTLS", MSR_IA32_VMX_PINBASED_CTLS);
	uint64_t proc = add_msr(c, "VMX_PROCBASED_CTLS", MSR_IA32_VMX_PROCBASED_CTLS);
	add_msr(c, "VMX_EXIT_CTLS", MSR_IA32_VMX_EXIT_CTLS);
	add_msr(c, "VMX_ENTRY_CTLS", MSR_IA32_VMX_ENTRY_CTLS);
	if (basic & VMX_BASIC_TRUE_CTLS) {
		add_msr(c, "VMX_TRUE_PINBASED_CTLS", MSR_IA32_VMX_TRUE_PINBASED_CTLS);
		add_msr(c, "VMX_TRUE_PROCBASED_CTLS", MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
		add_msr(c, "VMX_TRUE_EXIT_CTLS", MSR_IA32_VMX_TRUE_EXIT_CTLS);
		add_msr(c, "VMX_TRUE_ENTRY_CTLS", MSR_IA32_VMX_TRUE_ENTRY_CTLS);
	}
	add_msr(c, "VMX_MISC", MSR_IA32_VMX_MISC);
	add_msr(c, "VMX_CR0_FIXED0", MSR_IA32_VMX_CR0_FIXED0);
	add_msr(c, "VMX_CR0_FIXED1", MSR_IA32_VMX_CR0_FIXED1);
	add_msr(c, "VMX_CR4_FIXED0", MSR_IA32_VMX_CR4_FIXED0);
	add_msr(c, "VMX_CR4_FIXED1", MSR_IA32_VMX_CR4_FIXED1);

	/* A.3.3: the secondary-controls MSR exists when they may be used;
	 * A.10: EPT_VPID_CAP when EPT or VPID may be enabled; A.11: VMFUNC
	 * when VM functions may be enabled. */
	if (!(proc & ((uint64_t)CPU_SECONDARY_CONTROLS << 32)))
		return;
	uint64_t proc2 = 0;
	if (rdmsr_safe(MSR_IA32_VMX_PROCBASED_CTLS2, &proc2) && !c->unusable[0])
		snprintf(c->unusable, sizeof(c->unusable), "cannot read VMX_PROCBASED_CTLS2");
	uint64_t reported = proc2;
	if (inject_hit(&inject_vmx_cap, cpu))
		reported ^= VMX_CAP_INJECT_FLIP;
	virt_compat_add(c, "VMX_PROCBASED_CTLS2", reported);
	if (proc2 & ((uint64_t)(CPU2_ENABLE_EPT | CPU2_ENABLE_VPID) << 32))
		add_msr(c, "VMX_EPT_VPID_CAP", MSR_IA32_VMX_EPT_VPID_CAP);
	if (proc2 & ((uint64_t)CPU2_ENABLE_VMFUNC << 32))
		add_msr(c, "VMX_VMFUNC", MSR_IA32_VMX_VMFUNC);
}

/*
 * VMX probe: can this machine do what vigil needs (boot CPU, once), and the
 * controls and capabilities every VMCS then uses (struct vmx_caps).  What
 * each CPU reports for the compatibility check is in vmx_compat.c.
 *
 * The capability MSRs are described in Intel SDM vol 3D, appendix A; the
 * enabling rules (CPUID.1:ECX.VMX, IA32_FEATURE_CONTROL) in 24.6
 * "Discovering support for VMX" and 24.7 "Enabling and entering VMX
 * operation".
 */
#include "vmx_internal.h"
#include <asm/cpu.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/string.h>

struct vmx_caps vmx_caps;



/*
 * Firmware normally sets "VMXON outside SMX" and the lock bit on every CPU
 * (24.7); when it left the MSR unlocked we do the same, since an unlocked
 * IA32_FEATURE_CONTROL makes VMXON fault.  Once locked, only a reset
 * changes it.
 */
int vmx_feature_control(uint64_t *val, uint64_t *found)
{
	uint64_t fc;
	if (rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc))
		return -1;
	if (found)
		*found = fc;
	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		uint64_t want = fc | FEATURE_CONTROL_VMXON | FEATURE_CONTROL_LOCKED;
		if (!wrmsr_safe(MSR_IA32_FEATURE_CONTROL, want))
			(void)rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc);
	}
	*val = fc;
	return 0;
}

/*
 * A.3-A.5: bits 31:0 of a control capability MSR are the allowed-0
 * settings (1 = the control must be 1), bits 63:32 the allowed-1 settings
 * (0 = the control must be 0).  Start from what we want, add what must be
 * set, drop what may not be; fail when a needed control cannot be had.
 */
static int adjust_controls(uint64_t cap, uint32_t want, uint32_t need, uint32_t *out)
{
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
	uint32_t v = (want | must1) & may1;
	*out = v;
	return (v & need) == need ? 0 : -1;
}

static uint64_t read_cap(uint32_t msr, bool *ok)
{
	uint64_t v = 0;
	if (rdmsr_safe(msr, &v))
		*ok = false;
	return v;
}

int vmx_probe(char *why, size_t len)
{
	struct vmx_caps c = { 0 };
	bool ok = true;

	/* Nothing probed here changes before a reset (IA32_FEATURE_CONTROL
	 * stays locked), and vmx_caps is in use once VMX is on: answer again
	 * from the first successful probe. */
	if (vmx_caps.probed)
		return 0;

	/* 24.6: CPUID.1:ECX.VMX[bit 5] = 1 means VMX operation is supported. */
	if (!(cpuid(1).ecx & CPUID_1_ECX_VMX)) {
		snprintf(why, len, "CPU has no VMX (CPUID.1:ECX.VMX=0)");
		return -1;
	}
	uint64_t fc, fc_found;
	if (vmx_feature_control(&fc, &fc_found)) {
		snprintf(why, len, "cannot read IA32_FEATURE_CONTROL");
		return -1;
	}
	if (fc != fc_found)
		printk("vmx: IA32_FEATURE_CONTROL was 0x%lx (unlocked), locked it as 0x%lx\n", (unsigned long)fc_found,
		       (unsigned long)fc);
	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		snprintf(why, len, "IA32_FEATURE_CONTROL=0x%lx is unlocked and could not be locked",
			 (unsigned long)fc);
		return -1;
	}
	if (!(fc & FEATURE_CONTROL_VMXON)) {
		snprintf(why, len, "VMX disabled by firmware (IA32_FEATURE_CONTROL=0x%lx)", (unsigned long)fc);
		return -1;
	}

	c.basic = read_cap(MSR_IA32_VMX_BASIC, &ok);
	if (!ok) {
		snprintf(why, len, "cannot read IA32_VMX_BASIC");
		return -1;
	}
	c.revision = VMX_BASIC_REVISION(c.basic);
	/* A.1: the VMXON region and VMCS live in ordinary write-back memory
	 * from the page allocator, anywhere in physical memory. */
	if (VMX_BASIC_VMCS_SIZE(c.basic) > PAGE_SIZE || VMX_BASIC_VMCS_SIZE(c.basic) == 0) {
		snprintf(why, len, "VMCS size %u in IA32_VMX_BASIC=0x%lx is not 1..4096",
			 VMX_BASIC_VMCS_SIZE(c.basic), (unsigned long)c.basic);
		return -1;
	}
	if (VMX_BASIC_MEMTYPE(c.basic) != VMX_MEMTYPE_WB) {
		snprintf(why, len, "VMCS memory type %u is not write-back (IA32_VMX_BASIC=0x%lx)",
			 VMX_BASIC_MEMTYPE(c.basic), (unsigned long)c.basic);
		return -1;
	}
	if (c.basic & VMX_BASIC_32BIT_ADDR) {
		snprintf(why, len, "VMX structures limited to 32-bit physical addresses (IA32_VMX_BASIC=0x%lx)",
			 (unsigned long)c.basic);
		return -1;
	}

	/* A.3.1-A.5: the TRUE_ MSRs, when they exist, report which of the
	 * "default1" controls may be 0 (CR3-load/store exiting, for one). */
	bool use_true = c.basic & VMX_BASIC_TRUE_CTLS;
	uint64_t pin_cap = read_cap(use_true ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS, &ok);
	uint64_t proc_cap = read_cap(use_true ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS, &ok);
	uint64_t exit_cap = read_cap(use_true ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS, &ok);
	uint64_t entry_cap = read_cap(use_true ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS, &ok);
	if (!ok) {
		snprintf(why, len, "cannot read the VMX control capability MSRs");
		return -1;
	}

	/* NMI exiting: an NMI (the panic path's emergency disable) must reach
	 * the host even while a guest runs; external-interrupt exiting: so
	 * must the host's timer and IPIs (25.6.1).  vcpu_run turns the latter
	 * off again for a caller with interrupts disabled (vmx_run.c). */
	uint32_t pin_need = PIN_NMI_EXITING | PIN_EXT_INTR_EXITING;
	if (adjust_controls(pin_cap, pin_need, pin_need, &c.pin)) {
		snprintf(why, len, "VMX cannot exit on NMIs or external interrupts (pin-based controls 0x%lx)",
			 (unsigned long)pin_cap);
		return -1;
	}
	uint32_t proc_need = CPU_HLT_EXITING | CPU_UNCOND_IO_EXITING | CPU_SECONDARY_CONTROLS;
	if (adjust_controls(proc_cap, proc_need, proc_need, &c.proc)) {
		snprintf(why, len, "VMX has no %s (processor-based controls 0x%lx)",
			 (c.proc & CPU_SECONDARY_CONTROLS) ? "HLT or I/O exiting" : "secondary controls, hence no EPT",
			 (unsigned long)proc_cap);
		return -1;
	}
	/* A.3.3: IA32_VMX_PROCBASED_CTLS2 exists only when the secondary
	 * controls may be activated (checked just above). */
	uint64_t proc2_cap = read_cap(MSR_IA32_VMX_PROCBASED_CTLS2, &ok);
	if (!ok) {
		snprintf(why, len, "cannot read IA32_VMX_PROCBASED_CTLS2");
		return -1;
	}
	uint32_t proc2_need = CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST;
	if (adjust_controls(proc2_cap, proc2_need, proc2_need, &c.proc2)) {
		snprintf(why, len, "VMX has no %s (IA32_VMX_PROCBASED_CTLS2=0x%lx); vigil's test guest needs EPT "
			 "and unrestricted guest", (c.proc2 & CPU2_ENABLE_EPT) ? "unrestricted guest" : "EPT",
			 (unsigned long)proc2_cap);
		return -1;
	}

	/* A 64-bit host needs "host address-space size" (28.5.1); loading
	 * IA32_EFER on entry and exit keeps the guest's EFER its own. */
	if (adjust_controls(exit_cap, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_DEBUG_CONTROLS | EXIT_LOAD_IA32_EFER,
			    EXIT_HOST_ADDR_SPACE_SIZE, &c.exit)) {
		snprintf(why, len, "VMX cannot return to a 64-bit host (VM-exit controls 0x%lx)",
			 (unsigned long)exit_cap);
		return -1;
	}
	(void)adjust_controls(entry_cap, ENTRY_LOAD_DEBUG_CONTROLS | ENTRY_LOAD_IA32_EFER, 0, &c.entry);
	c.load_efer = (c.exit & EXIT_LOAD_IA32_EFER) && (c.entry & ENTRY_LOAD_IA32_EFER);
	if (!c.load_efer) {
		c.exit &= ~EXIT_LOAD_IA32_EFER;
		c.entry &= ~ENTRY_LOAD_IA32_EFER;
	}
	if ((c.entry & ENTRY_IA32E_MODE_GUEST) || (c.exit & EXIT_ACK_INTR_ON_EXIT)) {
		snprintf(why, len, "VMX forces controls vigil cannot honour (exit 0x%x, entry 0x%x)", c.exit, c.entry);
		return -1;
	}

	/* A.10 / 29.3.6: a 4-level EPT walk, a memory type for the paging
	 * structures, and INVEPT to invalidate what the CPU cached. */
	c.ept_vpid = read_cap(MSR_IA32_VMX_EPT_VPID_CAP, &ok);
	if (!ok) {
		snprintf(why, len, "cannot read IA32_VMX_EPT_VPID_CAP");
		return -1;
	}
	if (!(c.ept_vpid & EPT_CAP_WALK_4)) {
		snprintf(why, len, "EPT has no 4-level page walk (IA32_VMX_EPT_VPID_CAP=0x%lx)",
			 (unsigned long)c.ept_vpid);
		return -1;
	}
	if (c.ept_vpid & EPT_CAP_MEMTYPE_WB)
		c.eptp_memtype = VMX_MEMTYPE_WB;
	else if (c.ept_vpid & EPT_CAP_MEMTYPE_UC)
		c.eptp_memtype = VMX_MEMTYPE_UC;
	else {
		snprintf(why, len, "EPT allows neither WB nor UC paging structures (IA32_VMX_EPT_VPID_CAP=0x%lx)",
			 (unsigned long)c.ept_vpid);
		return -1;
	}
	if ((c.ept_vpid & EPT_CAP_INVEPT) && (c.ept_vpid & EPT_CAP_INVEPT_SINGLE))
		c.invept_type = INVEPT_SINGLE_CONTEXT;
	else if ((c.ept_vpid & EPT_CAP_INVEPT) && (c.ept_vpid & EPT_CAP_INVEPT_ALL))
		c.invept_type = INVEPT_ALL_CONTEXT;
	else {
		snprintf(why, len, "no usable INVEPT (IA32_VMX_EPT_VPID_CAP=0x%lx)", (unsigned long)c.ept_vpid);
		return -1;
	}

	c.probed = true;
	vmx_caps = c;
	printk("vmx: revision 0x%x, controls pin 0x%x proc 0x%x proc2 0x%x exit 0x%x entry 0x%x, "
	       "EPT %s, INVEPT %s\n", c.revision, c.pin, c.proc, c.proc2, c.exit, c.entry,
	       c.eptp_memtype == VMX_MEMTYPE_WB ? "WB" : "UC",
	       c.invept_type == INVEPT_SINGLE_CONTEXT ? "single-context" : "all-context");
	return 0;
}

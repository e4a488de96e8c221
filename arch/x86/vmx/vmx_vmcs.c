/*
 * The VMCS: its life cycle on one CPU and the fields that do not depend on
 * the guest (Intel SDM vol 3C, ch. 25 "Virtual machine control
 * structures"; the checks VM entry applies to them in 27.2 "Checks on VMX
 * controls and host-state area").
 *
 * A burst run's VMCS lives for one vcpu_run: allocated, VMCLEARed and made
 * current here, VMCLEARed and freed at the end.  A live vCPU's lives as
 * long as the vCPU (vmx_vcpu.c).  Either way it is on the per-CPU list of
 * active VMCSs (vmx_loaded.c) while active, for disable and emergency
 * disable.
 */
#include "vmx_internal.h"
#include <asm/cpu.h>
#include <vigil/arch.h>
#include <vigil/mm.h>
#include <vigil/sched.h>
#include <vigil/string.h>


void vmcs_w(struct vmcs_writer *w, uint64_t field, uint64_t value)
{
	int r = vmwrite(field, value);
	if (r != VMX_OK && !w->failed) {
		w->failed = true;
		w->field = field;
		w->error = r == VMX_FAIL_VALID ? (uint32_t)vmread(VM_INSTRUCTION_ERROR) : 0;
	}
}

uint64_t vmx_vmcs_alloc(void)
{
	uint64_t pa = pmm_alloc_page();
	if (!pa)
		return 0;
	/* 25.2 "Format of the VMCS region": the revision identifier in bits
	 * 30:0 of the first word, bit 31 clear (not a shadow VMCS). */
	uint32_t *region = phys_to_virt(pa);
	memset(region, 0, PAGE_SIZE);
	region[0] = vmx_caps.revision;
	return pa;
}

uint64_t vmx_vmcs_load_new(char *why, size_t len)
{
	uint64_t pa = vmx_vmcs_alloc();
	if (!pa) {
		snprintf(why, len, "no memory for a VMCS");
		return 0;
	}
	/* 25.11.3 "Initializing a VMCS": VMCLEAR first (launch state
	 * "clear"), then VMPTRLD makes it current; on this CPU's list from
	 * before the VMPTRLD, so that an NMI in between still clears it. */
	unsigned long flags = arch_irq_save();
	int r = vmx_loaded_add(pa, true, NULL, why, len);
	arch_irq_restore(flags);
	if (r) {
		pmm_free_page(pa);
		return 0;
	}
	return pa;
}

void vmx_vmcs_release(uint64_t pa)
{
	/* disable() in the run's interrupt window may have cleared it and
	 * left VMX operation already: then it is off the list. */
	unsigned long flags = arch_irq_save();
	(void)vmx_loaded_clear(pa);
	arch_irq_restore(flags);
	pmm_free_page(pa);
}

/* Base of the TSS the task register selects, from its 16-byte system
 * descriptor in the GDT (SDM vol 3A, 8.2.3 "TSS descriptor in 64-bit
 * mode"). */
static uint64_t tss_base(uint64_t gdt_base, uint16_t tr)
{
	const uint64_t *d = (const uint64_t *)(gdt_base + (tr & ~7u));
	return ((d[0] >> 16) & 0xFFFFFF) | ((d[0] >> 56) << 24) | (d[1] << 32);
}

#define READ_SEG(s) ({ uint16_t __v; __asm__ volatile("mov %%" #s ", %0" : "=r"(__v)); __v; })

void vmx_vmcs_setup_host_and_controls(struct vmcs_writer *w, uint64_t eptp)
{
	vmx_vmcs_setup_controls(w, eptp);
	vmx_vmcs_setup_host(w);
}

void vmx_vmcs_setup_controls(struct vmcs_writer *w, uint64_t eptp)
{
	const struct vmx_caps *c = &vmx_caps;

	/* 25.6 "VM-execution control fields", values computed at probe time
	 * from the capability MSRs.  The exception bitmap intercepts #UD
	 * only; other guest exceptions go through the guest's (empty) IDT and
	 * end in a triple fault, which exits.  No I/O or MSR bitmaps: every
	 * I/O instruction exits (unconditional I/O exiting) and so does every
	 * RDMSR/WRMSR (25.6.9). */
	vmcs_w(w, PIN_BASED_VM_EXEC_CONTROL, c->pin);
	vmcs_w(w, CPU_BASED_VM_EXEC_CONTROL, c->proc);
	vmcs_w(w, SECONDARY_VM_EXEC_CONTROL, c->proc2);
	vmcs_w(w, EXCEPTION_BITMAP, 1u << VEC_UD_EXCEPTION);
	vmcs_w(w, PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_w(w, PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_w(w, CR3_TARGET_COUNT, 0);
	vmcs_w(w, EPT_POINTER, eptp);

	/* 25.7 "VM-exit control fields" and 25.8 "VM-entry control fields":
	 * no MSR lists, no event to inject. */
	vmcs_w(w, VM_EXIT_CONTROLS, c->exit);
	vmcs_w(w, VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_w(w, VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_w(w, VM_ENTRY_CONTROLS, c->entry);
	vmcs_w(w, VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_w(w, VM_ENTRY_INTR_INFO_FIELD, 0);
}

void vmx_vmcs_setup_host(struct vmcs_writer *w)
{
	const struct vmx_caps *c = &vmx_caps;
	/* 25.5 "Host-state area": the state a VM exit loads (28.5), i.e.
	 * this CPU as it is now.  Selectors need RPL 0 and TI 0 (27.2.3);
	 * the kernel's all are.  HOST_RSP is written by vmx_enter right
	 * before each VM entry. */
	struct desc_ptr gdtr, idtr;
	uint16_t tr;
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("sidt %0" : "=m"(idtr));
	__asm__ volatile("str %0" : "=r"(tr));
	vmcs_w(w, HOST_CR0, read_cr0());
	vmcs_w(w, HOST_CR3, read_cr3());
	vmcs_w(w, HOST_CR4, read_cr4());
	vmcs_w(w, HOST_CS_SELECTOR, READ_SEG(cs));
	vmcs_w(w, HOST_SS_SELECTOR, READ_SEG(ss));
	vmcs_w(w, HOST_DS_SELECTOR, READ_SEG(ds));
	vmcs_w(w, HOST_ES_SELECTOR, READ_SEG(es));
	vmcs_w(w, HOST_FS_SELECTOR, READ_SEG(fs));
	vmcs_w(w, HOST_GS_SELECTOR, READ_SEG(gs));
	vmcs_w(w, HOST_TR_SELECTOR, tr);
	vmcs_w(w, HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_w(w, HOST_GS_BASE, rdmsr(MSR_GS_BASE));   /* the per-CPU data (asm/percpu.h) */
	vmcs_w(w, HOST_TR_BASE, tss_base(gdtr.base, tr));
	vmcs_w(w, HOST_GDTR_BASE, gdtr.base);
	vmcs_w(w, HOST_IDTR_BASE, idtr.base);
	vmcs_w(w, HOST_IA32_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
	vmcs_w(w, HOST_IA32_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
	vmcs_w(w, HOST_IA32_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
	if (c->load_efer)
		vmcs_w(w, HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_w(w, HOST_RIP, (uint64_t)vmx_exit_stub);
}

/*
 * Turning VMX operation on and off on one CPU (Intel SDM vol 3C, 24.7
 * "Enabling and entering VMX operation", 24.8 "Restrictions on VMX
 * operation", 25.11.5 "VMXON region", 32.5 "VMX operation and the VMXON
 * region"; VMXON/VMXOFF/VMCLEAR in 31.3).
 *
 * Every function here runs on the CPU it concerns with preemption off.
 * Each CPU's state is written only by that CPU; the only concurrent reader
 * is an NMI on the same CPU (emergency disable), so the state changes are
 * ordered with compiler barriers around the instructions they describe.
 */
#include "vmx_internal.h"
#include <asm/cpu.h>
#include <asm/percpu.h>
#include <vigil/arch.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/string.h>

struct vmx_cpu vmx_cpus[CONFIG_MAX_CPUS];

#define barrier() __asm__ volatile("" ::: "memory")

/* The 4 KiB VMXON region of every possible CPU exists from boot: enabling
 * (hotplug online, resume) must not depend on memory being available. */
int vmx_prepare_cpu(unsigned cpu)
{
	if (cpu >= CONFIG_MAX_CPUS)
		return -1;
	if (vmx_cpus[cpu].vmxon_pa)
		return 0;
	uint64_t pa = pmm_alloc_page();
	if (!pa) {
		printk("vmx: no memory for the VMXON region of CPU %u\n", cpu);
		return -1;
	}
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	vmx_cpus[cpu].vmxon_pa = pa;
	return 0;
}

/*
 * VMXON with its three outcomes: #GP when CR0/CR4 or IA32_FEATURE_CONTROL
 * forbid it (caught by the kernel's #GP fixup table: -1), VMfailInvalid for
 * a bad region address or revision identifier, VMfailValid when the CPU is
 * already in VMX root operation (31.3 "VMXON").
 */
static int vmxon_safe(uint64_t pa)
{
	bool cf = false, zf = false;
	int fault = 0;
	__asm__ volatile("1: vmxon %[pa]\n"
			 ASM_GP_FIXUP("%[fault]", "1")
			 : "=@ccc"(cf), "=@ccz"(zf), [fault] "+r"(fault)
			 : [pa] "m"(pa)
			 : "memory");
	if (fault)
		return -1;
	return vmx_flags_result(cf, zf);
}

/* MOV to CR4 that reports a #GP instead of dying of it: 0 or -1. */
static int write_cr4_safe(uint64_t v)
{
	int fault = 0;
	__asm__ volatile("1: mov %[v], %%cr4\n"
			 ASM_GP_FIXUP("%[fault]", "-1")
			 : [fault] "+r"(fault)
			 : [v] "r"(v)
			 : "memory");
	return fault;
}

bool vmx_hw_enabled(void)
{
	return read_cr4() & X86_CR4_VMXE;
}

bool vmx_this_cpu_on(void)
{
	return vmx_cpus[this_cpu()->cpu].state == VMX_CPU_ON && vmx_hw_enabled();
}

int vmx_enable(char *why, size_t len)
{
	unsigned cpu = smp_processor_id();
	struct vmx_cpu *st = &vmx_cpus[cpu];
	uint64_t cr0 = read_cr0(), cr4 = read_cr4();

	/* The hardware cannot say whose VMX operation this is; the core keeps
	 * its own per-CPU flag and never enables twice, so anything already
	 * on belongs to someone else (a hypervisor below us, a kernel before
	 * a warm restart). */
	if (cr4 & X86_CR4_VMXE) {
		snprintf(why, len, "CR4.VMXE already set: another hypervisor owns this CPU");
		return -1;
	}
	if (!vmx_caps.probed) {
		snprintf(why, len, "VMX was not probed on this machine");
		return -1;
	}
	if (!st->vmxon_pa) {
		snprintf(why, len, "no VMXON region for CPU %u (prepare_cpu did not run)", cpu);
		return -1;
	}

	uint64_t fc;
	if (vmx_feature_control(&fc, NULL)) {
		snprintf(why, len, "cannot read IA32_FEATURE_CONTROL");
		return -1;
	}
	if ((fc & (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON)) !=
	    (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON)) {
		snprintf(why, len, "VMX disabled by firmware (IA32_FEATURE_CONTROL=0x%lx)", (unsigned long)fc);
		return -1;
	}

	/* 24.8: in VMX operation every bit set in IA32_VMX_CRn_FIXED0 must
	 * be 1 in CRn and every bit clear in IA32_VMX_CRn_FIXED1 must be 0
	 * (CR0.NE, CR0.PE/PG and CR4.VMXE on today's CPUs). */
	uint64_t cr0_f0, cr0_f1, cr4_f0, cr4_f1, basic;
	if (rdmsr_safe(MSR_IA32_VMX_CR0_FIXED0, &cr0_f0) || rdmsr_safe(MSR_IA32_VMX_CR0_FIXED1, &cr0_f1) ||
	    rdmsr_safe(MSR_IA32_VMX_CR4_FIXED0, &cr4_f0) || rdmsr_safe(MSR_IA32_VMX_CR4_FIXED1, &cr4_f1) ||
	    rdmsr_safe(MSR_IA32_VMX_BASIC, &basic)) {
		snprintf(why, len, "cannot read the VMX capability MSRs");
		return -1;
	}
	uint64_t new_cr0 = cr0 | cr0_f0;
	if (new_cr0 & ~cr0_f1) {
		snprintf(why, len, "CR0=0x%lx has bits 0x%lx that VMX operation forbids (IA32_VMX_CR0_FIXED1=0x%lx)",
			 (unsigned long)cr0, (unsigned long)(new_cr0 & ~cr0_f1), (unsigned long)cr0_f1);
		return -1;
	}
	uint64_t new_cr4 = cr4 | cr4_f0 | X86_CR4_VMXE;
	if (new_cr4 & ~cr4_f1) {
		snprintf(why, len, "CR4=0x%lx has bits 0x%lx that VMX operation forbids (IA32_VMX_CR4_FIXED1=0x%lx)",
			 (unsigned long)cr4, (unsigned long)(new_cr4 & ~cr4_f1), (unsigned long)cr4_f1);
		return -1;
	}

	/* 25.11.5: the VMXON region starts with the VMCS revision identifier
	 * (bit 31 clear); this CPU's own, which the compatibility check has
	 * already compared with the boot CPU's. */
	uint32_t *region = phys_to_virt(st->vmxon_pa);
	memset(region, 0, PAGE_SIZE);
	region[0] = VMX_BASIC_REVISION(basic);

	st->state = VMX_CPU_ENABLING;
	barrier();
	if (new_cr0 != cr0)
		write_cr0(new_cr0);
	write_cr4(new_cr4);
	int r = vmxon_safe(st->vmxon_pa);
	if (r != VMX_OK) {
		write_cr4(cr4);
		if (new_cr0 != cr0)
			write_cr0(cr0);
		barrier();
		st->state = VMX_CPU_OFF;
		(void)rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc);
		snprintf(why, len, "VMXON failed (%s) with IA32_FEATURE_CONTROL=0x%lx",
			 r < 0 ? "#GP" : r == VMX_FAIL_INVALID ? "VMfailInvalid: bad VMXON region"
							       : "VMfailValid: already in VMX operation",
			 (unsigned long)fc);
		return -1;
	}
	st->cr0_set = new_cr0 & ~cr0;
	barrier();
	st->state = VMX_CPU_ON;

	/* Translations cached by an earlier VMX session on this CPU (another
	 * kernel before a warm restart) must not survive into ours (29.4.3
	 * "Invalidating cached translation information"). */
	if (vmx_caps.ept_vpid & EPT_CAP_INVEPT_ALL)
		(void)invept(INVEPT_ALL_CONTEXT, 0);
	return 0;
}

/*
 * VMCLEAR every VMCS active here before VMXOFF, so that each one's data
 * reaches memory and its launch state is "clear" (25.1: VMXOFF does not
 * write back an active VMCS, whose state is then lost; 25.11.3); then leave
 * VMX operation and give CR0/CR4 back as enable() found them.  The owners
 * of those VMCSs (live vCPUs) find them gone from this CPU's list and load
 * them again, with VMLAUNCH, at their next entry.  Runs with interrupts
 * off (a cross-CPU call, the hotplug, suspend and reboot paths).
 */
void vmx_disable(void)
{
	/* Interrupts stay off from the state check to VMX_CPU_OFF: a reboot
	 * IPI taken in between would run a whole disable inside this one, and
	 * this one's VMXOFF would then execute outside VMX operation (#UD). */
	unsigned long flags = arch_irq_save();
	struct vmx_cpu *st = &vmx_cpus[smp_processor_id()];
	if (st->state != VMX_CPU_ON) {
		arch_irq_restore(flags);
		return;
	}
	(void)vmx_loaded_clear_all(true);
	barrier();
	st->state = VMX_CPU_DISABLING;
	barrier();
	if (vmxoff() != VMX_OK)
		printk("vmx: VMXOFF failed on CPU %u (error %lu)\n", smp_processor_id(),
		       (unsigned long)vmread(VM_INSTRUCTION_ERROR));
	write_cr4(read_cr4() & ~X86_CR4_VMXE);
	if (st->cr0_set)
		write_cr0(read_cr0() & ~st->cr0_set);
	st->cr0_set = 0;
	barrier();
	st->state = VMX_CPU_OFF;
	arch_irq_restore(flags);
}

/*
 * NMI/panic context: no locks, no printk, no allocation.  INIT is blocked
 * in VMX root operation (24.8), so leaving it is what lets another CPU or
 * the firmware reset this one.
 *
 * When the NMI interrupted enable() or disable() themselves, this CPU may
 * or may not be in VMX operation.  Clearing CR4.VMXE tells: it raises #GP
 * exactly when the CPU is in VMX operation (24.8), and the kernel's #GP
 * fixup turns that into an answer.  (That #GP's IRET ends NMI blocking
 * early; acceptable on a path that is taking the machine down.)
 *
 * The interrupted enable()/disable() must not resume afterwards: the
 * emergency path never returns to it (panic stops the CPU).
 */
void vmx_emergency_disable(void)
{
	struct vmx_cpu *st = &vmx_cpus[this_cpu()->cpu];
	/* CR4.VMXE clear: not in VMX operation (VMXON needs it set and it
	 * cannot be cleared in VMX operation, 24.8); an interrupted disable()
	 * may still owe CR0 its bits back, done below. */
	bool in_vmx = (read_cr4() & X86_CR4_VMXE) &&
		      (st->state == VMX_CPU_ON || write_cr4_safe(read_cr4() & ~X86_CR4_VMXE) != 0);
	if (in_vmx) {
		/* Every VMCS active here first, as disable() does. */
		st->emergency_vmclears += vmx_loaded_clear_all(true);
		barrier();
		st->state = VMX_CPU_DISABLING;
		barrier();
		(void)vmxoff();
		write_cr4(read_cr4() & ~X86_CR4_VMXE);
	} else {
		(void)vmx_loaded_clear_all(false);  /* nothing can be active */
	}
	if (st->cr0_set) {
		write_cr0(read_cr0() & ~st->cr0_set);
		st->cr0_set = 0;
	}
	barrier();
	st->state = VMX_CPU_OFF;
}

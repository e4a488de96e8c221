/*
 * vcpu_run: run the built-in guest on this CPU until it has exited
 * run->max_exits times or misbehaves (Intel SDM vol 3C, 26 "VM entries",
 * 27 "VM exits", appendix C "VMX basic exit reasons").
 *
 * Interrupts.  Every entry and exit happens with host interrupts disabled
 * (from before VMPTRLD to after the final VMCLEAR, the host's RFLAGS.IF is
 * 0 whenever the loop runs), so the loaded VMCS and the host state captured
 * in it (GDTR, IDTR, GS base...) cannot change under an entry.  When the
 * caller had interrupts on (`vm run`: a task with preemption disabled),
 * "external-interrupt exiting" is set (25.6.1) with "acknowledge interrupt
 * on exit" clear (25.7.1): a physical interrupt -- a timer tick, an IPI, a
 * vCPU kick -- makes the guest exit (VEXIT_INTR) whatever the guest's
 * RFLAGS.IF, stays pending in the local APIC, and is taken by the host in
 * a short interrupt window the loop opens after every exit, before the
 * next entry.  A cross-CPU call taken there may have turned VMX off on this
 * CPU (disable() VMCLEARs the loaded VMCS first): the loop checks, with
 * interrupts off again, that VMX is on and our VMCS still loaded before it
 * enters.  When the caller had interrupts off (an IPI callback), they stay
 * off for the whole run, external-interrupt exiting is left clear, and an
 * interrupt that arrives waits (the guest runs with RFLAGS.IF=0) until the
 * run ends.  NMIs always exit ("NMI exiting") and are handed to the host's
 * NMI handler at once, so the panic path's emergency disable reaches a CPU
 * that is running a guest.
 *
 * A VM entry that fails (VMLAUNCH/VMRESUME reporting VMfailValid, or a VM
 * exit with bit 31 of the exit reason set) ends the run with last_exit
 * VEXIT_ENTRY_FAILED, guest_failed and the reason in why (the SVM backend
 * reports VMEXIT_INVALID the same way); vcpu_run returns -1 only when the
 * host could not even set the run up, or its EPT turned out wrong.
 */
#include "vmx_internal.h"
#include <asm/cpu.h>
#include <asm/percpu.h>
#include <vigil/arch.h>
#include <vigil/inject.h>
#include <vigil/sched.h>
#include <vigil/string.h>

/* Broken VMCSs, to see VM-entry failures reported: one fails the guest-state
 * checks (a VM exit with bit 31 of the exit reason set, 27.3.1.2: TR must
 * be usable), the other the control checks (VMLAUNCH fails with
 * VMfailValid, error 7, 27.2.1.1: at most 4 CR3-target values). */
INJECT_POINT(vmx_bad_guest_state,
	     "the next VM entry on this CPU finds an invalid guest state (TR unusable)");
INJECT_POINT(vmx_bad_control,
	     "the next VMLAUNCH on this CPU fails on an invalid control field (CR3-target count 5)");

_Static_assert(offsetof(struct vmx_guest_regs, g.rax) == 0, "vmx_entry.asm R_RAX");
_Static_assert(offsetof(struct vmx_guest_regs, g.rbx) == 8, "vmx_entry.asm R_RBX");
_Static_assert(offsetof(struct vmx_guest_regs, g.rcx) == 16, "vmx_entry.asm R_RCX");
_Static_assert(offsetof(struct vmx_guest_regs, g.rdx) == 24, "vmx_entry.asm R_RDX");
_Static_assert(offsetof(struct vmx_guest_regs, rbp) == 32, "vmx_entry.asm R_RBP");
_Static_assert(offsetof(struct vmx_guest_regs, rsi) == 40, "vmx_entry.asm R_RSI");
_Static_assert(offsetof(struct vmx_guest_regs, rdi) == 48, "vmx_entry.asm R_RDI");
_Static_assert(offsetof(struct vmx_guest_regs, r8) == 56, "vmx_entry.asm R_R8");
_Static_assert(offsetof(struct vmx_guest_regs, r15) == 112, "vmx_entry.asm R_R15");

/* 31.4 "VM instruction error numbers". */
const char *vmx_insn_error_name(unsigned err)
{
	static const char *const names[] = {
		[0] = "no error recorded",
		[1] = "VMCALL executed in VMX root operation",
		[2] = "VMCLEAR with invalid physical address",
		[3] = "VMCLEAR with VMXON pointer",
		[4] = "VMLAUNCH with non-clear VMCS",
		[5] = "VMRESUME with non-launched VMCS",
		[6] = "VMRESUME after VMXOFF",
		[7] = "VM entry with invalid control field(s)",
		[8] = "VM entry with invalid host-state field(s)",
		[9] = "VMPTRLD with invalid physical address",
		[10] = "VMPTRLD with VMXON pointer",
		[11] = "VMPTRLD with incorrect VMCS revision identifier",
		[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
		[13] = "VMWRITE to read-only VMCS component",
		[15] = "VMXON executed in VMX root operation",
		[16] = "VM entry with invalid executive-VMCS pointer",
		[17] = "VM entry with non-launched executive VMCS",
		[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
		[19] = "VMCALL with non-clear VMCS",
		[20] = "VMCALL with invalid VM-exit control fields",
		[22] = "VMCALL with incorrect MSEG revision identifier",
		[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
		[24] = "VMCALL with invalid SMM-monitor features",
		[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
		[26] = "VM entry with events blocked by MOV SS",
		[28] = "invalid operand to INVEPT/INVVPID",
	};
	if (err < ARRAY_SIZE(names) && names[err])
		return names[err];
	return "unknown error";
}

/* Let the host take the interrupts that are pending (an external-interrupt
 * exit left its interrupt in the local APIC).  STI delays recognition until
 * after the next instruction (SDM vol 2B, STI), hence the NOP before CLI. */
static void host_interrupt_window(void)
{
	__asm__ volatile("sti; nop; cli" ::: "memory");
}

/* The decoded exit lives here, not on the stack: its detail buffer is
 * large, and one run per CPU at a time (preemption off). */
static struct vmx_exit_decoded run_exit[CONFIG_MAX_CPUS];

static int run_loop(struct vm *vm, struct vcpu_run *run, struct vmx_guest_regs *regs, uint64_t vmcs,
		    bool irq_window)
{
	int launched = 0;
	int rc = 0;
	uint64_t t0 = arch_time_ns();
	uint64_t ticks0 = this_cpu()->timer_ticks;
	unsigned cpu = smp_processor_id();
	const struct vmx_cpu *st = &vmx_cpus[cpu];
	struct vmx_exit_decoded *d = &run_exit[cpu];
	for (;;) {
		/* Interrupts are off: a kick sent after this is held pending and
		 * makes the guest exit at once (include/vigil/vcpu_request.h). */
		if (run->req && !vcpu_run_enter_guest_mode(run, cpu))
			break;
		int r = vmx_enter(regs, launched);
		if (run->req)
			vcpu_run_exit_guest_mode(run);
		vmx_decode_exit(r, launched, d);
		bool skip;
		enum vcpu_exit_action a = vmx_exit_handle(vm, run, regs, d, &skip);
		if (a == VCPU_EXIT_GUEST_FAILED) {
			run->guest_failed = true;
			break;
		}
		if (a == VCPU_EXIT_HOST_FAILED) {
			rc = -1;
			break;
		}
		/* A failed entry ended the run above; this one ran the guest. */
		launched = 1;
		if (skip)
			vmwrite(GUEST_RIP, d->info.rip + d->info.insn_len);
		/* HLT: nothing can wake the guest but us; carry on at once. */
		if (irq_window) {
			host_interrupt_window();
			/* disable() (the only way out, besides an emergency
			 * that does not return) VMCLEARs it and turns VMX off. */
			if (__atomic_load_n(&st->state, __ATOMIC_RELAXED) != VMX_CPU_ON || !vmx_loaded_has(cpu, vmcs)) {
				snprintf(run->why, sizeof(run->why), "VMX was turned off on CPU %u during the run", cpu);
				rc = -1;
				break;
			}
			/* Another VMCS may have been made current meanwhile. */
			if (vmx_make_current(vmcs) != VMX_OK) {
				snprintf(run->why, sizeof(run->why), "VMPTRLD of the run's VMCS failed on CPU %u", cpu);
				rc = -1;
				break;
			}
		}
		if (run->exits >= run->max_exits)
			break;
		if (vcpu_run_stop_asked(run))
			break;
	}
	run->guest_ns = arch_time_ns() - t0;
	run->timer_ticks = this_cpu()->timer_ticks - ticks0;
	return rc;
}

int vmx_vcpu_run(struct vm *vm, struct vcpu_run *run)
{
	vcpu_run_reset(run);

	struct vmx_vm *v = vm->arch;
	if (!v) {
		snprintf(run->why, sizeof(run->why), "VM has no EPT (vm_init not run)");
		return -1;
	}
	if (!run->max_exits)
		return 0;  /* nothing to run */

	unsigned long flags = arch_irq_save();
	if (!vmx_this_cpu_on()) {
		arch_irq_restore(flags);
		snprintf(run->why, sizeof(run->why), "VMX is not enabled on CPU %u", smp_processor_id());
		return -1;
	}
	/* A VM exit sets the GDTR and IDTR limits to 0xFFFF (28.5.2); put
	 * the real ones back afterwards.  TR's limit becomes 0x67, which is
	 * what the kernel's TSS has anyway. */
	struct desc_ptr gdtr, idtr;
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("sidt %0" : "=m"(idtr));

	int rc = -1;
	uint64_t vmcs = vmx_vmcs_load_new(run->why, sizeof(run->why));
	if (vmcs) {
		struct vmcs_writer w = { 0 };
		struct vmx_guest_regs regs = { 0 };
		vmx_vmcs_setup_host_and_controls(&w, v->eptp);
		/* Bit 0 is a "default0" pin-based control (A.3.1): it may be 0. */
		bool irq_window = flags != 0;
		if (!irq_window)
			vmcs_w(&w, PIN_BASED_VM_EXEC_CONTROL, vmx_caps.pin & ~PIN_EXT_INTR_EXITING);
		rc = vmx_guest_load(vm, run->guest, &w, run->why, sizeof(run->why));
		if (rc == 0)
			rc = vmx_guest_place(vm, run->guest, 0, 1, &w, &regs, run->why, sizeof(run->why));
		/* The guest's IF does not gate interrupts under external-
		 * interrupt exiting (26.3.1.5 / 25.6.1), but Bochs only
		 * re-evaluates interrupt masking when RFLAGS.IF changes, and the
		 * host enters with IF=0: with the guest's IF=1 the change makes
		 * it notice.  Safe: with the control set, no interrupt is ever
		 * delivered to the guest (which has no IDT). */
		if (rc == 0 && irq_window)
			vmcs_w(&w, GUEST_RFLAGS, 0x2 | X86_RFLAGS_IF);
		unsigned cpu = smp_processor_id();
		if (rc == 0 && inject_hit(&inject_vmx_bad_guest_state, cpu))
			vmcs_w(&w, GUEST_TR_AR_BYTES, 0x10000);
		if (rc == 0 && inject_hit(&inject_vmx_bad_control, cpu))
			vmcs_w(&w, CR3_TARGET_COUNT, 5);
		if (rc == 0 && w.failed) {
			snprintf(run->why, sizeof(run->why), "VMWRITE of VMCS field 0x%lx failed (VM-instruction error %u, %s)",
				 (unsigned long)w.field, w.error, vmx_insn_error_name(w.error));
			rc = -1;
		}
		if (rc == 0) {
			vmx_ept_flush_local(v);
			rc = run_loop(vm, run, &regs, vmcs, irq_window);
		}
		vmx_vmcs_release(vmcs);
	}
	__asm__ volatile("lgdt %0" :: "m"(gdtr));
	__asm__ volatile("lidt %0" :: "m"(idtr));
	arch_irq_restore(flags);
	return rc;
}

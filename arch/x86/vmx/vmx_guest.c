/*
 * The built-in guest: its code goes to guest-physical 0x1000 of slot 0 and
 * it starts in 32-bit protected mode with paging off, which only an
 * "unrestricted guest" may do (Intel SDM vol 3C, 25.6.2 table 25-7, and
 * 27.3.1.1: CR0.PE and CR0.PG are then exempt from IA32_VMX_CR0_FIXED0).
 * The guest-state area is described in 25.4 and checked by VM entry as in
 * 27.3.1 "Checks on the guest-state area".
 */
#include "vmx_internal.h"
#include <asm/cpu.h>
#include <vigil/mm.h>
#include <vigil/string.h>

extern const uint8_t vmx_guest_normal[], vmx_guest_normal_end[];
extern const uint8_t vmx_guest_wild[], vmx_guest_wild_end[];
extern const uint8_t vmx_guest_bad_insn[], vmx_guest_bad_insn_end[];
extern const uint8_t vmx_guest_spin[], vmx_guest_spin_end[];
extern const uint8_t vmx_guest_pattern[], vmx_guest_pattern_end[];
extern const uint8_t vmx_guest_hcloop[], vmx_guest_hcloop_end[];
extern const uint8_t vmx_guest_probe[], vmx_guest_probe_end[];

static const struct {
	const uint8_t *start, *end;
} programs[] = {
	[GUEST_NORMAL] = { vmx_guest_normal, vmx_guest_normal_end },
	[GUEST_WILD] = { vmx_guest_wild, vmx_guest_wild_end },
	[GUEST_BAD_INSN] = { vmx_guest_bad_insn, vmx_guest_bad_insn_end },
	[GUEST_SPIN] = { vmx_guest_spin, vmx_guest_spin_end },
	[GUEST_PATTERN] = { vmx_guest_pattern, vmx_guest_pattern_end },
	[GUEST_HCLOOP] = { vmx_guest_hcloop, vmx_guest_hcloop_end },
	[GUEST_PROBE] = { vmx_guest_probe, vmx_guest_probe_end },
};

/* Slot 0 holds the code page at 0x1000 and the stack below its top. */
#define GUEST_MIN_SLOT0 (4 * PAGE_SIZE)

#define X86_CR0_ET (1UL << 4)

/* Segment access rights (25.4.1, table 25-2): type, S, DPL, P, D/B, G. */
#define AR_CODE32   0xC09B   /* execute/read, accessed; S=1 P=1 D=1 G=1 */
#define AR_DATA32   0xC093   /* read/write, accessed; S=1 P=1 D=1 G=1 */
#define AR_TSS32    0x008B   /* busy 32-bit TSS; S=0 P=1 */
#define AR_UNUSABLE 0x10000  /* bit 16: segment unusable */

/* ES, CS, SS, DS, FS, GS, LDTR, TR: each field kind is encoded with
 * consecutive indexes in that order (appendix B). */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

static void guest_seg(struct vmcs_writer *w, unsigned seg, uint16_t sel, uint32_t limit, uint32_t ar)
{
	vmcs_w(w, GUEST_ES_SELECTOR + 2 * seg, sel);
	vmcs_w(w, GUEST_ES_BASE + 2 * seg, 0);
	vmcs_w(w, GUEST_ES_LIMIT + 2 * seg, limit);
	vmcs_w(w, GUEST_ES_AR_BYTES + 2 * seg, ar);
}

int vmx_guest_load(struct vm *vm, enum guest_kind kind, struct vmcs_writer *w, char *why, size_t len)
{
	const struct vm_slot *s0 = &vm->slots[0];
	if ((unsigned)kind >= ARRAY_SIZE(programs)) {
		snprintf(why, len, "unknown guest kind %d", (int)kind);
		return -1;
	}
	if (!s0->used || s0->gpa != 0 || s0->size < GUEST_MIN_SLOT0) {
		snprintf(why, len, "the guest needs slot 0 at guest-physical 0 with at least %lu KiB",
			 GUEST_MIN_SLOT0 / 1024);
		return -1;
	}
	size_t n = (size_t)(programs[kind].end - programs[kind].start);
	/* Not over itself: another live vCPU of the VM may be running this
	 * very code (rewriting code another CPU executes is cross-modifying
	 * code, SDM vol 3A, 9.1.3). */
	uint8_t *code = (uint8_t *)phys_to_virt(s0->hpa) + VMX_GUEST_CODE_GPA;
	if (memcmp(code, programs[kind].start, n))
		memcpy(code, programs[kind].start, n);
	if (w)
		vmx_guest_state(vm, w);
	return 0;
}

void vmx_guest_state(const struct vm *vm, struct vmcs_writer *w)
{
	const struct vm_slot *s0 = &vm->slots[0];

	/* 27.3.1.1: fixed CR0/CR4 bits, except PE and PG for an unrestricted
	 * guest.  The host owns the bits the guest may not choose (the
	 * guest/host masks, 25.6.6): reads of them return the read shadow,
	 * writes that would change them exit.  The CR4 shadow hides VMXE, so
	 * the guest sees the CR4 it would see on bare metal. */
	uint64_t cr0_f0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0), cr0_f1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	uint64_t cr4_f0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0), cr4_f1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	uint64_t cr0_fixed = cr0_f0 & ~(X86_CR0_PE | X86_CR0_PG);
	uint64_t cr0 = ((X86_CR0_PE | X86_CR0_NE | X86_CR0_ET) | cr0_fixed) & cr0_f1;
	uint64_t cr4 = cr4_f0 & cr4_f1;
	vmcs_w(w, GUEST_CR0, cr0);
	vmcs_w(w, GUEST_CR3, 0);
	vmcs_w(w, GUEST_CR4, cr4);
	vmcs_w(w, CR0_GUEST_HOST_MASK, cr0_fixed);
	vmcs_w(w, CR0_READ_SHADOW, cr0);
	vmcs_w(w, CR4_GUEST_HOST_MASK, cr4_f0);
	vmcs_w(w, CR4_READ_SHADOW, cr4 & ~cr4_f0);

	/* 27.3.1.2 "Checks on guest segment registers": flat 4 GiB code and
	 * data segments (accessed types, present, G=1 with a limit whose low
	 * 12 bits are ones), CS.DPL = SS.DPL = 0, an unusable LDTR and a
	 * usable busy 32-bit TSS.  The selectors need not exist in a guest
	 * GDT: VM entry loads the hidden parts from the VMCS. */
	guest_seg(w, SEG_CS, 0x08, 0xFFFFFFFF, AR_CODE32);
	guest_seg(w, SEG_SS, 0x10, 0xFFFFFFFF, AR_DATA32);
	guest_seg(w, SEG_DS, 0x10, 0xFFFFFFFF, AR_DATA32);
	guest_seg(w, SEG_ES, 0x10, 0xFFFFFFFF, AR_DATA32);
	guest_seg(w, SEG_FS, 0x10, 0xFFFFFFFF, AR_DATA32);
	guest_seg(w, SEG_GS, 0x10, 0xFFFFFFFF, AR_DATA32);
	guest_seg(w, SEG_LDTR, 0, 0, AR_UNUSABLE);
	guest_seg(w, SEG_TR, 0x18, 0x67, AR_TSS32);
	/* 27.3.1.3: empty GDT and IDT.  An exception the host does not
	 * intercept therefore becomes a triple fault, which exits. */
	vmcs_w(w, GUEST_GDTR_BASE, 0);
	vmcs_w(w, GUEST_GDTR_LIMIT, 0);
	vmcs_w(w, GUEST_IDTR_BASE, 0);
	vmcs_w(w, GUEST_IDTR_LIMIT, 0);

	/* 27.3.1.4 "Checks on guest RIP and RFLAGS": RFLAGS bit 1 set,
	 * interrupts off.  The stack starts 16 bytes below the top of slot 0
	 * (a 32-bit guest sees at most 4 GiB). */
	uint64_t top = s0->size < (1ULL << 32) ? s0->size : (1ULL << 32);
	vmcs_w(w, GUEST_RIP, VMX_GUEST_CODE_GPA);
	vmcs_w(w, GUEST_RSP, top - 16);
	vmcs_w(w, GUEST_RFLAGS, 0x2);

	/* The rest of 27.3.1.1 and 27.3.1.5 "Checks on guest non-register
	 * state": DR7 and IA32_DEBUGCTL at their reset values (loaded because
	 * "load debug controls" is a default-1 entry control), no SYSENTER
	 * setup, EFER zero (32-bit guest), active, nothing blocked or
	 * pending, no VMCS shadowing (link pointer all ones). */
	vmcs_w(w, GUEST_DR7, 0x400);
	vmcs_w(w, GUEST_IA32_DEBUGCTL, 0);
	vmcs_w(w, GUEST_SYSENTER_CS, 0);
	vmcs_w(w, GUEST_SYSENTER_ESP, 0);
	vmcs_w(w, GUEST_SYSENTER_EIP, 0);
	if (vmx_caps.load_efer)
		vmcs_w(w, GUEST_IA32_EFER, 0);
	vmcs_w(w, GUEST_ACTIVITY_STATE, 0);
	vmcs_w(w, GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_w(w, GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_w(w, VMCS_LINK_POINTER, ~0ULL);
}

int vmx_guest_place(const struct vm *vm, enum guest_kind kind, unsigned index, unsigned nr, struct vmcs_writer *w,
		    struct vmx_guest_regs *regs, char *why, size_t len)
{
	if (kind == GUEST_PROBE)
		regs->rdi = GUEST_PROBE_GPA;   /* asm/vexit.h */
	if (kind != GUEST_PATTERN)
		return 0;
	/* GUEST_PATTERN (asm/guest_code.inc): its index in ESI, its own
	 * pattern area in EDI/ECX and its own stack. */
	struct guest_pattern_layout l;
	if (guest_pattern_layout(vm->slots[0].size, nr, index, &l, why, len))
		return -1;
	regs->rsi = index;
	regs->rdi = l.area;
	regs->g.rcx = l.area_size;
	vmcs_w(w, GUEST_RSP, l.stack_top);
	return 0;
}

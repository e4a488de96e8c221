/*
 * The VMCB of the built-in guest (AMD APM vol 2, 15.5 "VMRUN Instruction",
 * appendix B "Layout of VMCB"), and what to say when VMRUN refuses it.
 *
 * The guest starts in 32-bit protected mode with paging off: CR0 = PE|ET,
 * flat 4 GiB code and data segments, CPL 0, interrupts off.  Guest EFER has
 * SVME set: VMRUN requires it of every guest (15.5.1), it is not a sign that
 * the guest may use SVM (its VMRUN, VMLOAD, VMSAVE, CLGI, STGI and SKINIT are
 * all intercepted).  Guest-physical = linear since paging is off; the nested
 * page tables at nCR3 turn that into host-physical.
 */
#include "svm_internal.h"
#include <asm/cpu.h>
#include <vigil/printk.h>
#include <vigil/string.h>

#define X86_CR0_ET (1UL << 4)
#define X86_CR0_NW (1UL << 29)
#define X86_CR0_CD (1UL << 30)

/* VMCB segment attributes: descriptor bits 47:40 (type, S, DPL, P) in bits
 * 7:0 and bits 55:52 (AVL, L, D/B, G) in bits 11:8 (B.2). */
#define SEG_CODE32   0x0C9B  /* G, D, P, DPL 0, S, execute/read accessed */
#define SEG_DATA32   0x0C93  /* G, B, P, DPL 0, S, read/write accessed */
#define SEG_TSS32    0x008B  /* P, busy 32-bit TSS */
#define SEG_ATTR_L   (1u << 9)
#define SEG_ATTR_D   (1u << 10)
#define GUEST_CS     0x08
#define GUEST_DS     0x10

/* The guest's exception intercepts: #DE #UD #DF #TS #NP #SS #GP #AC.  The
 * guest has no IDT, so these would otherwise end in a triple fault with the
 * cause lost.  #MC is left to the guest (SHUTDOWN catches it): an intercepted
 * #MC would have to be handed to the host's handler, which we do not do. */
#define GUEST_EXCEPTIONS ((1u << 0) | (1u << 6) | (1u << 8) | (1u << 10) | (1u << 11) | \
			  (1u << 12) | (1u << 13) | (1u << 17))

/* Power-on PAT (WB, WT, UC-, UC twice): the guest's memory types with NPT. */
#define GUEST_PAT 0x0007040600070406ULL

static void set_seg(struct vmcb_seg *s, uint16_t sel, uint16_t attrib, uint32_t limit)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = limit;
	s->base = 0;
}

void svm_vmcb_setup(struct vmcb *v, const struct svm_vm *sv, uint64_t rip, uint64_t rsp)
{
	memset(v, 0, sizeof(*v));
	struct vmcb_control *c = &v->control;
	struct vmcb_save *s = &v->save;

	c->intercept_exceptions = GUEST_EXCEPTIONS;
	/* Physical INTR, NMI and SMI exit to the host instead of reaching the
	 * guest (15.13); they stay pending and the host takes them after STGI. */
	c->intercept_misc1 = SVM_INTERCEPT1_INTR | SVM_INTERCEPT1_NMI | SVM_INTERCEPT1_SMI |
			     SVM_INTERCEPT1_CPUID | SVM_INTERCEPT1_INVD | SVM_INTERCEPT1_HLT |
			     SVM_INTERCEPT1_INVLPGA | SVM_INTERCEPT1_IOIO | SVM_INTERCEPT1_MSR |
			     SVM_INTERCEPT1_SHUTDOWN;
	/* VMRUN must be intercepted (15.5.1); the other SVM instructions would
	 * let the guest load or store host-physical memory or mask the host's
	 * interrupts. */
	c->intercept_misc2 = SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL | SVM_INTERCEPT2_VMLOAD |
			     SVM_INTERCEPT2_VMSAVE | SVM_INTERCEPT2_STGI | SVM_INTERCEPT2_CLGI |
			     SVM_INTERCEPT2_SKINIT | SVM_INTERCEPT2_XSETBV;
	c->iopm_base_pa = sv->iopm_pa;
	c->msrpm_base_pa = sv->msrpm_pa;
	c->guest_asid = 1;                   /* 0 is the host's and invalid here */
	c->tlb_control = SVM_TLB_FLUSH_ALL;  /* first entry: nothing stale of ASID 1 */
	/* V_INTR_MASKING: the guest's RFLAGS.IF masks only virtual interrupts;
	 * the host's IF (at VMRUN) decides about physical ones (15.21.1). */
	c->int_ctl = SVM_INT_CTL_V_INTR_MASKING;
	c->np_control = SVM_NP_ENABLE;
	c->n_cr3 = sv->npt.root;
	c->clean = 0;                        /* everything must be (re)loaded */

	set_seg(&s->cs, GUEST_CS, SEG_CODE32, 0xFFFFFFFF);
	set_seg(&s->ds, GUEST_DS, SEG_DATA32, 0xFFFFFFFF);
	set_seg(&s->es, GUEST_DS, SEG_DATA32, 0xFFFFFFFF);
	set_seg(&s->ss, GUEST_DS, SEG_DATA32, 0xFFFFFFFF);
	set_seg(&s->fs, GUEST_DS, SEG_DATA32, 0xFFFFFFFF);
	set_seg(&s->gs, GUEST_DS, SEG_DATA32, 0xFFFFFFFF);
	set_seg(&s->gdtr, 0, 0, 0);
	set_seg(&s->idtr, 0, 0, 0);
	set_seg(&s->ldtr, 0, 0, 0);
	set_seg(&s->tr, 0, SEG_TSS32, 0x67);
	s->cpl = 0;
	s->efer = EFER_SVME;
	s->cr0 = X86_CR0_PE | X86_CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->dr6 = 0xFFFF0FF0;
	s->dr7 = 0x400;
	s->rflags = 0x2;
	s->rip = rip;
	s->rsp = rsp;
	s->rax = 0;
	s->g_pat = GUEST_PAT;
}

static bool above_maxphy(uint64_t pa)
{
	unsigned bits = svm_caps.maxphyaddr ? svm_caps.maxphyaddr : 52;
	return bits < 64 && (pa >> bits) != 0;
}

static bool pat_valid(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		unsigned t = (pat >> (8 * i)) & 0xFF;
		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
			return false;
	}
	return true;
}

/* The checks of 15.5.1 "Canonicalization and consistency checks", in its
 * order, on the VMCB as it was handed to VMRUN. */
const char *svm_vmcb_invalid_reason(const struct vmcb *v)
{
	const struct vmcb_save *s = &v->save;
	const struct vmcb_control *c = &v->control;
	bool lme_pg = (s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG);

	if (!(s->efer & EFER_SVME))
		return "guest EFER.SVME is clear";
	if (!(s->cr0 & X86_CR0_CD) && (s->cr0 & X86_CR0_NW))
		return "guest CR0.CD=0 with CR0.NW=1";
	if (s->cr0 >> 32)
		return "guest CR0[63:32] are not zero";
	if (above_maxphy(s->cr3) || (s->cr3 >> 52))
		return "guest CR3 has must-be-zero bits set";
	if (s->cr4 >> 32)
		return "guest CR4 has reserved bits set";
	if (s->dr6 >> 32)
		return "guest DR6[63:32] are not zero";
	if (s->dr7 >> 32)
		return "guest DR7[63:32] are not zero";
	/* EFER bits 63:22 and the unused low bits are reserved. */
	if (s->efer & ~((1ULL << 22) - 1) || (s->efer & 0x2FE))
		return "guest EFER has must-be-zero bits set";
	if (lme_pg && !(s->cr4 & X86_CR4_PAE))
		return "guest EFER.LME and CR0.PG set with CR4.PAE clear";
	if (lme_pg && !(s->cr0 & X86_CR0_PE))
		return "guest EFER.LME and CR0.PG set with CR0.PE clear";
	if (lme_pg && (s->cr4 & X86_CR4_PAE) && (s->cs.attrib & SEG_ATTR_L) && (s->cs.attrib & SEG_ATTR_D))
		return "guest in long mode with CS.L and CS.D both set";
	if (!(c->intercept_misc2 & SVM_INTERCEPT2_VMRUN))
		return "the VMRUN intercept is clear";
	if (above_maxphy(c->msrpm_base_pa + SVM_MSRPM_SIZE - 1))
		return "MSRPM_BASE_PA beyond the physical address width";
	if (above_maxphy(c->iopm_base_pa + SVM_IOPM_SIZE - 1))
		return "IOPM_BASE_PA beyond the physical address width";
	if (c->guest_asid == 0)
		return "guest ASID is 0";
	if (c->event_inj & SVM_EVTINJ_VALID) {
		unsigned type = (c->event_inj >> 8) & 7, vec = c->event_inj & 0xFF;
		if (type == 1 || type > 4 || (type == 3 && (vec == 2 || vec > 31)))
			return "EVENTINJ names an invalid event";
	}
	if (c->np_control & SVM_NP_ENABLE) {
		if (!(svm_caps.features & SVM_FEAT_NPT))
			return "NP_ENABLE set without nested paging support";
		if (above_maxphy(c->n_cr3) || (c->n_cr3 >> 52))
			return "nCR3 has must-be-zero bits set";
		if (!pat_valid(s->g_pat))
			return "G_PAT holds an invalid memory type";
	}
	return "";
}

static void dump_seg(const char *name, const struct vmcb_seg *s)
{
	printk("svm:   %-4s sel=0x%04x attr=0x%03x limit=0x%08x base=0x%lx\n", name, s->selector, s->attrib,
	       s->limit, (unsigned long)s->base);
}

void svm_vmcb_dump(const struct vmcb *v)
{
	const struct vmcb_save *s = &v->save;
	const struct vmcb_control *c = &v->control;
	printk("svm: VMCB: exit_code=0x%lx info1=0x%lx info2=0x%lx exitintinfo=0x%lx\n",
	       (unsigned long)c->exit_code, (unsigned long)c->exit_info1, (unsigned long)c->exit_info2,
	       (unsigned long)c->exit_int_info);
	printk("svm:   intercepts cr=0x%x dr=0x%x exc=0x%x misc1=0x%x misc2=0x%x asid=%u tlb_control=%u\n",
	       c->intercept_cr, c->intercept_dr, c->intercept_exceptions, c->intercept_misc1, c->intercept_misc2,
	       c->guest_asid, c->tlb_control);
	printk("svm:   iopm=0x%lx msrpm=0x%lx np_control=0x%lx ncr3=0x%lx int_ctl=0x%lx event_inj=0x%lx clean=0x%x\n",
	       (unsigned long)c->iopm_base_pa, (unsigned long)c->msrpm_base_pa, (unsigned long)c->np_control,
	       (unsigned long)c->n_cr3, (unsigned long)c->int_ctl, (unsigned long)c->event_inj, c->clean);
	printk("svm:   efer=0x%lx cr0=0x%lx cr3=0x%lx cr4=0x%lx dr6=0x%lx dr7=0x%lx g_pat=0x%lx\n",
	       (unsigned long)s->efer, (unsigned long)s->cr0, (unsigned long)s->cr3, (unsigned long)s->cr4,
	       (unsigned long)s->dr6, (unsigned long)s->dr7, (unsigned long)s->g_pat);
	printk("svm:   rip=0x%lx rsp=0x%lx rax=0x%lx rflags=0x%lx cpl=%u\n", (unsigned long)s->rip,
	       (unsigned long)s->rsp, (unsigned long)s->rax, (unsigned long)s->rflags, s->cpl);
	dump_seg("cs", &s->cs);
	dump_seg("ss", &s->ss);
	dump_seg("ds", &s->ds);
	dump_seg("tr", &s->tr);
}

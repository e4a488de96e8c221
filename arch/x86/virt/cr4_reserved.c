/*
 * The CR4 reserved-bit mask of this CPU, derived from CPUID the way the SDM
 * ties each CR4 bit to a feature (SDM vol 3, 2.5 "Control registers", and the
 * CPUID feature flags of vol 2): a bit is reserved when the feature behind it
 * is missing, and setting a reserved bit raises #GP.  Two CPUs with different
 * masks cannot share a hypervisor that programs guest/host CR4 once for all
 * (KVM's cr4_reserved_bits check does the same).
 */
#include <asm/cpu.h>
#include <vigil/inject.h>
#include <vigil/sched.h>
#include <vigil/virt.h>

INJECT_POINT(cr4_mask, "this CPU computes a different CR4 reserved-bit mask");

struct cr4_bit {
	uint8_t bit;
	uint32_t leaf, subleaf;
	uint8_t reg;   /* 0 eax, 1 ebx, 2 ecx, 3 edx */
	uint8_t feature_bit;
};

static const struct cr4_bit cr4_bits[] = {
	{ 0, 1, 0, 3, 1 },    /* VME        CPUID.1:EDX.VME */
	{ 1, 1, 0, 3, 1 },    /* PVI        CPUID.1:EDX.VME */
	{ 2, 1, 0, 3, 4 },    /* TSD        CPUID.1:EDX.TSC */
	{ 3, 1, 0, 3, 2 },    /* DE         CPUID.1:EDX.DE */
	{ 4, 1, 0, 3, 3 },    /* PSE        CPUID.1:EDX.PSE */
	{ 5, 1, 0, 3, 6 },    /* PAE        CPUID.1:EDX.PAE */
	{ 6, 1, 0, 3, 7 },    /* MCE        CPUID.1:EDX.MCE */
	{ 7, 1, 0, 3, 13 },   /* PGE        CPUID.1:EDX.PGE */
	{ 9, 1, 0, 3, 24 },   /* OSFXSR     CPUID.1:EDX.FXSR */
	{ 10, 1, 0, 3, 25 },  /* OSXMMEXCPT CPUID.1:EDX.SSE */
	{ 11, 7, 0, 2, 2 },   /* UMIP       CPUID.7.0:ECX.UMIP */
	{ 12, 7, 0, 2, 16 },  /* LA57       CPUID.7.0:ECX.LA57 */
	{ 13, 1, 0, 2, 5 },   /* VMXE       CPUID.1:ECX.VMX */
	{ 14, 1, 0, 2, 6 },   /* SMXE       CPUID.1:ECX.SMX */
	{ 16, 7, 0, 1, 0 },   /* FSGSBASE   CPUID.7.0:EBX.FSGSBASE */
	{ 17, 1, 0, 2, 17 },  /* PCIDE      CPUID.1:ECX.PCID */
	{ 18, 1, 0, 2, 26 },  /* OSXSAVE    CPUID.1:ECX.XSAVE */
	{ 19, 7, 0, 2, 23 },  /* KL         CPUID.7.0:ECX.KL */
	{ 20, 7, 0, 1, 7 },   /* SMEP       CPUID.7.0:EBX.SMEP */
	{ 21, 7, 0, 1, 20 },  /* SMAP       CPUID.7.0:EBX.SMAP */
	{ 22, 7, 0, 2, 3 },   /* PKE        CPUID.7.0:ECX.PKU */
	{ 23, 7, 0, 2, 7 },   /* CET        CPUID.7.0:ECX.CET_SS */
	{ 24, 7, 0, 2, 31 },  /* PKS        CPUID.7.0:ECX.PKS */
	{ 25, 7, 0, 3, 5 },   /* UINTR      CPUID.7.0:EDX.UINTR */
	{ 28, 7, 1, 0, 26 },  /* LAM_SUP    CPUID.7.1:EAX.LAM */
};

static uint32_t cpuid_reg(uint32_t leaf, uint32_t sub, unsigned reg)
{
	uint32_t max = leaf >= 0x80000000 ? cpuid(0x80000000).eax : cpuid(0).eax;
	if (leaf > max)
		return 0;
	struct cpuid_regs r = cpuid_count(leaf, sub);
	const uint32_t v[4] = { r.eax, r.ebx, r.ecx, r.edx };
	return v[reg];
}

uint64_t cr4_reserved_mask(void)
{
	/* Start with every bit reserved; PCE (8) has no CPUID bit and is always
	 * available on x86-64. */
	uint64_t reserved = ~0ULL & ~(1ULL << 8);
	for (unsigned i = 0; i < ARRAY_SIZE(cr4_bits); i++) {
		const struct cr4_bit *b = &cr4_bits[i];
		if (cpuid_reg(b->leaf, b->subleaf, b->reg) & (1u << b->feature_bit))
			reserved &= ~(1ULL << b->bit);
	}
	return reserved;
}

void arch_virt_snapshot_common(struct virt_compat *c)
{
	uint64_t mask = cr4_reserved_mask();
	if (inject_hit(&inject_cr4_mask, smp_processor_id()))
		mask ^= 1ULL << 22; /* as if PKU differed on this CPU */
	virt_compat_add(c, "cr4_reserved_mask", mask);
}

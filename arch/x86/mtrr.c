/*
 * Memory types: the boot CPU's MTRRs and PAT are the reference for every
 * CPU (asm/mtrr.h).  vigil never changes them itself; the only way a CPU
 * can disagree is a power loss the firmware did not repair, that is an AP
 * after ACPI S3, or the boot CPU when the firmware restores only part of
 * its state (OVMF drops a variable pair).
 */
#include <asm/cpu.h>
#include <asm/mtrr.h>
#include <asm/percpu.h>
#include <vigil/check.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/cpu.h>
#include <vigil/mm.h>
#include <vigil/sched.h>
#include <vigil/smp.h>
#include <vigil/string.h>

#define MSR_MTRRCAP          0xFE
#define MSR_MTRR_DEF_TYPE    0x2FF
#define MSR_MTRR_PHYSBASE(n) (0x200 + 2 * (n))
#define MSR_MTRR_PHYSMASK(n) (0x201 + 2 * (n))
#define MSR_PAT              0x277
#define MTRRCAP_VCNT         0xFFu
#define MTRRCAP_FIX          (1u << 8)
#define MTRR_DEF_E           (1ULL << 11)
#define MTRR_DEF_FE          (1ULL << 10)
#define MTRR_MAX_VAR         32
#define X86_CR0_CD           (1UL << 30)
#define X86_CR0_NW           (1UL << 29)

/* The fixed-range MTRRs (SDM vol 3, "Fixed Range MTRRs", 12.11.2.2). */
static const uint32_t fixed_msrs[] = {
	0x250, 0x258, 0x259, 0x268, 0x269, 0x26A, 0x26B, 0x26C, 0x26D, 0x26E, 0x26F,
};

/* The reference: MTRR_DEF_TYPE on its own (it is written twice when
 * loading), then every other register with its value: fixed ranges,
 * variable pairs, PAT. */
#define MAX_REGS (ARRAY_SIZE(fixed_msrs) + 2 * MTRR_MAX_VAR + 1)
static struct {
	bool has_mtrr;
	uint64_t def_type;
	unsigned n;
	struct {
		uint32_t msr;
		uint64_t value;
	} reg[MAX_REGS];
} ref;

static unsigned syncs[CONFIG_MAX_CPUS];

static void ref_add(uint32_t msr)
{
	ref.reg[ref.n].msr = msr;
	ref.reg[ref.n].value = rdmsr(msr);
	ref.n++;
}

void mtrr_init_boot(void)
{
	/* CPUID.01H:EDX.MTRR[12] and .PAT[16] (SDM vol 3, 12.11.1, 12.12.1). */
	struct cpuid_regs r = cpuid(1);
	ref.has_mtrr = r.edx & (1u << 12);
	if (ref.has_mtrr) {
		uint64_t cap = rdmsr(MSR_MTRRCAP);
		ref.def_type = rdmsr(MSR_MTRR_DEF_TYPE);
		if (cap & MTRRCAP_FIX)
			for (size_t i = 0; i < ARRAY_SIZE(fixed_msrs); i++)
				ref_add(fixed_msrs[i]);
		for (unsigned i = 0; i < MIN((unsigned)(cap & MTRRCAP_VCNT), MTRR_MAX_VAR); i++) {
			ref_add(MSR_MTRR_PHYSBASE(i));
			ref_add(MSR_MTRR_PHYSMASK(i));
		}
	}
	if (r.edx & (1u << 16))
		ref_add(MSR_PAT);
}

unsigned mtrr_diff_this_cpu(uint32_t *first_msr)
{
	unsigned n = 0;
	*first_msr = 0;
	if (ref.has_mtrr && rdmsr(MSR_MTRR_DEF_TYPE) != ref.def_type && !n++)
		*first_msr = MSR_MTRR_DEF_TYPE;
	for (unsigned i = 0; i < ref.n; i++)
		if (rdmsr(ref.reg[i].msr) != ref.reg[i].value && !n++)
			*first_msr = ref.reg[i].msr;
	return n;
}

/* The SDM's procedure for changing memory types on a running CPU
 * ("MemTypeSet Function", 12.11.7.2; PAT in the same window as Linux does,
 * "Programming the PAT", 12.12.4): caches to no-fill mode and flushed, TLBs
 * flushed, MTRRs disabled while they change, then caches, TLBs and MTRRs
 * back on. */
static void load_reference(void)
{
	uint64_t cr0 = read_cr0(), cr4 = read_cr4();
	write_cr0((cr0 | X86_CR0_CD) & ~X86_CR0_NW);
	wbinvd();
	if (cr4 & X86_CR4_PGE)
		write_cr4(cr4 & ~X86_CR4_PGE);
	else
		write_cr3(read_cr3());
	if (ref.has_mtrr)
		wrmsr(MSR_MTRR_DEF_TYPE, ref.def_type & ~(MTRR_DEF_E | MTRR_DEF_FE));
	for (unsigned i = 0; i < ref.n; i++)
		wrmsr(ref.reg[i].msr, ref.reg[i].value);
	wbinvd();
	write_cr3(read_cr3());
	if (ref.has_mtrr)
		wrmsr(MSR_MTRR_DEF_TYPE, ref.def_type);
	write_cr0(cr0);
	if (cr4 & X86_CR4_PGE)
		write_cr4(cr4);
}

unsigned mtrr_sync_this_cpu(uint32_t *first_msr)
{
	unsigned n = mtrr_diff_this_cpu(first_msr);
	if (n) {
		load_reference();
		syncs[this_cpu()->cpu]++;
	}
	return n;
}

unsigned mtrr_syncs(unsigned cpu)
{
	return cpu < CONFIG_MAX_CPUS ? syncs[cpu] : 0;
}

/* ---- the invariant behind `check` ---- */

struct diff_report {
	unsigned n[CONFIG_MAX_CPUS];
	uint32_t first[CONFIG_MAX_CPUS];
};

static void diff_ipi(void *arg)
{
	struct diff_report *d = arg;
	unsigned cpu = smp_processor_id();
	d->n[cpu] = mtrr_diff_this_cpu(&d->first[cpu]);
}

/* Static, since `check` must answer when memory is full; checks run one at
 * a time (core/check.c). */
static struct diff_report diff_report;

static int memory_types_agree(char *why, size_t len)
{
	if (!ref.has_mtrr && !ref.n)
		return 0;
	struct diff_report *d = &diff_report;
	memset(d, 0, sizeof(*d));
	int r = 0;
	cpus_read_lock();
	if (on_each_cpu(diff_ipi, d, true) != 0) {
		snprintf(why, len, "could not read every CPU's registers");
		r = -1;
	}
	for (unsigned c = 0; c < nr_possible_cpus && !r; c++)
		if (cpu_is_online(c) && d->n[c]) {
			snprintf(why, len, "cpu %u: %u MTRR/PAT registers differ from the boot CPU's (first: MSR 0x%x)",
				 c, d->n[c], d->first[c]);
			r = -1;
		}
	cpus_read_unlock();
	return r;
}
INVARIANT(memory_types, memory_types_agree);

/* Control registers, CPUID, MSRs, flags: thin wrappers (Intel SDM vol 3, ch. 2). */
#ifndef ASM_CPU_H
#define ASM_CPU_H
#include <vigil/types.h>

#define X86_CR0_PE (1UL << 0)
#define X86_CR0_MP (1UL << 1)
#define X86_CR0_EM (1UL << 2)
#define X86_CR0_TS (1UL << 3)
#define X86_CR0_NE (1UL << 5)
#define X86_CR0_WP (1UL << 16)
#define X86_CR0_PG (1UL << 31)

#define X86_CR4_PAE     (1UL << 5)
#define X86_CR4_PGE     (1UL << 7)
#define X86_CR4_OSFXSR  (1UL << 9)
#define X86_CR4_VMXE    (1UL << 13)
#define X86_CR4_FSGSBASE (1UL << 16)

#define X86_RFLAGS_IF (1UL << 9)

#define MSR_IA32_APIC_BASE   0x1B
#define MSR_IA32_FEATURE_CONTROL 0x3A
#define MSR_IA32_TSC_DEADLINE 0x6E0
#define MSR_EFER             0xC0000080
#define MSR_FS_BASE          0xC0000100
#define MSR_GS_BASE          0xC0000101
#define MSR_KERNEL_GS_BASE   0xC0000102
#define EFER_SCE  (1UL << 0)
#define EFER_LME  (1UL << 8)
#define EFER_LMA  (1UL << 10)
#define EFER_NXE  (1UL << 11)
#define EFER_SVME (1UL << 12)

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
/* rdmsr that survives a #GP (MSR not implemented): returns 0 on success. */
int rdmsr_safe(uint32_t msr, uint64_t *val);
int wrmsr_safe(uint32_t msr, uint64_t val);

struct cpuid_regs { uint32_t eax, ebx, ecx, edx; };
static inline struct cpuid_regs cpuid_count(uint32_t leaf, uint32_t sub)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(sub));
	return r;
}
static inline struct cpuid_regs cpuid(uint32_t leaf) { return cpuid_count(leaf, 0); }

#define DEFINE_CR(n) \
	static inline uint64_t read_cr##n(void) { uint64_t v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
	static inline void write_cr##n(uint64_t v) { __asm__ volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline uint64_t read_rflags(void) { uint64_t f; __asm__ volatile("pushfq; popq %0" : "=r"(f)); return f; }
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline void invlpg(uintptr_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
/* Write back and invalidate every cache level (SDM vol 2, WBINVD). */
static inline void wbinvd(void) { __asm__ volatile("wbinvd" ::: "memory"); }
__noreturn void halt_forever(void);

/* Boot-time CPU facts of the boot CPU (filled by cpu_identify()). */
struct cpu_features {
	char vendor[13];
	uint32_t max_leaf, max_ext_leaf;
	bool is_intel, is_amd, is_hygon;
	unsigned family;             /* CPUID.01H display family (base + extended) */
	bool x2apic, tsc_deadline, invariant_tsc, nx, pdpe1gb, hypervisor;
	char hypervisor_id[13];
	char brand[49];
};
extern struct cpu_features boot_cpu;
void cpu_identify(void);
/*
 * The fault-tolerant instruction pattern: the instruction at local label 1
 * may raise #GP; traps.c (fixup_exception) then resumes at a fixup that sets
 * the asm operand `err` (e.g. "%2" or "%[fault]") to `val` and continues at
 * label 2, right after the instruction.  Use as
 *     asm volatile("1: wrmsr\n" ASM_GP_FIXUP("%0", "-1") : ...);
 */
#define ASM_GP_FIXUP(err, val)                                  \
	"2:\n"                                                  \
	".pushsection ex_table, \"a\"\n"                        \
	".balign 8\n"                                           \
	".quad 1b, 3f\n"                                        \
	".popsection\n"                                         \
	".pushsection .text.fixup, \"ax\"\n"                    \
	"3: movl $" val ", " err "\n"                            \
	"jmp 2b\n"                                              \
	".popsection\n"

#endif

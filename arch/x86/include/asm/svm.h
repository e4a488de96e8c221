/*
 * AMD Secure Virtual Machine: the hardware's definitions (AMD64 Architecture
 * Programmer's Manual vol 2, chapter 15 "Secure Virtual Machine", and
 * appendix B "Layout of VMCB").  Only what arch/x86/svm/ uses.
 */
#ifndef ASM_SVM_H
#define ASM_SVM_H
#include <vigil/types.h>

/* ---- CPUID (APM vol 3, appendix E; vol 2, 15.4 "Enabling SVM") ---- */
#define CPUID_EXT_FEATURES      0x80000001
#define CPUID_EXT1_ECX_SVM      (1u << 2)
#define CPUID_SVM_LEAF          0x8000000A
/* 0x8000000A EDX feature bits */
#define SVM_FEAT_NPT            (1u << 0)   /* nested paging */
#define SVM_FEAT_LBRV           (1u << 1)
#define SVM_FEAT_SVML           (1u << 2)   /* SVM lock */
#define SVM_FEAT_NRIPS          (1u << 3)   /* next-RIP saved on #VMEXIT */
#define SVM_FEAT_VMCB_CLEAN     (1u << 5)
#define SVM_FEAT_FLUSH_BY_ASID  (1u << 6)
#define SVM_FEAT_DECODE_ASSISTS (1u << 7)

/* ---- MSRs (15.30 "SVM-related MSRs") ---- */
#define MSR_VM_CR               0xC0010114
#define VM_CR_DPD               (1ULL << 0)
#define VM_CR_R_INIT            (1ULL << 1)
#define VM_CR_DIS_A20M          (1ULL << 2)
#define VM_CR_LOCK              (1ULL << 3)
#define VM_CR_SVMDIS            (1ULL << 4)
#define MSR_VM_HSAVE_PA         0xC0010117

/* ---- VMCB (appendix B) ---- */

/* Segment in the VMCB: the attributes are the descriptor's bits 47:40 and
 * 55:52 packed into 12 bits (B.2 "VMCB state save area"). */
struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib;
	uint32_t limit;
	uint64_t base;
} __packed;

/* Table B-1, control area (offsets 0x000-0x3FF). */
struct vmcb_control {
	uint32_t intercept_cr;          /* 0x000: bits 15:0 reads, 31:16 writes */
	uint32_t intercept_dr;          /* 0x004 */
	uint32_t intercept_exceptions;  /* 0x008: one bit per vector */
	uint32_t intercept_misc1;       /* 0x00C: SVM_INTERCEPT1_* */
	uint32_t intercept_misc2;       /* 0x010: SVM_INTERCEPT2_* */
	uint32_t intercept_misc3;       /* 0x014 */
	uint8_t  reserved_018[0x03C - 0x018];
	uint16_t pause_filter_thresh;   /* 0x03C */
	uint16_t pause_filter_count;    /* 0x03E */
	uint64_t iopm_base_pa;          /* 0x040 */
	uint64_t msrpm_base_pa;         /* 0x048 */
	uint64_t tsc_offset;            /* 0x050 */
	uint32_t guest_asid;            /* 0x058 */
	uint8_t  tlb_control;           /* 0x05C */
	uint8_t  reserved_05d[3];
	uint64_t int_ctl;               /* 0x060: V_TPR, V_IRQ, V_INTR_MASKING... */
	uint64_t int_state;             /* 0x068: interrupt shadow */
	uint64_t exit_code;             /* 0x070 */
	uint64_t exit_info1;            /* 0x078 */
	uint64_t exit_info2;            /* 0x080 */
	uint64_t exit_int_info;         /* 0x088 */
	uint64_t np_control;            /* 0x090: bit 0 NP_ENABLE */
	uint64_t avic_apic_bar;         /* 0x098 */
	uint64_t ghcb_pa;               /* 0x0A0 */
	uint64_t event_inj;             /* 0x0A8 */
	uint64_t n_cr3;                 /* 0x0B0 */
	uint64_t virt_ext;              /* 0x0B8: LBR virtualization, VMSAVE/VMLOAD virtualization */
	uint32_t clean;                 /* 0x0C0: VMCB clean bits */
	uint32_t reserved_0c4;
	uint64_t next_rip;              /* 0x0C8: with NRIPS */
	uint8_t  insn_len;              /* 0x0D0: with decode assists */
	uint8_t  insn_bytes[15];        /* 0x0D1 */
	uint8_t  reserved_0e0[0x400 - 0x0E0];
} __packed;

/* Table B-2, state save area (offsets 0x400-0xFFF of the VMCB). */
struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs; /* 0x000-0x05F */
	struct vmcb_seg gdtr, ldtr, idtr, tr;   /* 0x060-0x09F */
	uint8_t  reserved_0a0[0x0CB - 0x0A0];
	uint8_t  cpl;                           /* 0x0CB */
	uint32_t reserved_0cc;
	uint64_t efer;                          /* 0x0D0 */
	uint8_t  reserved_0d8[0x148 - 0x0D8];
	uint64_t cr4;                           /* 0x148 */
	uint64_t cr3;                           /* 0x150 */
	uint64_t cr0;                           /* 0x158 */
	uint64_t dr7;                           /* 0x160 */
	uint64_t dr6;                           /* 0x168 */
	uint64_t rflags;                        /* 0x170 */
	uint64_t rip;                           /* 0x178 */
	uint8_t  reserved_180[0x1D8 - 0x180];
	uint64_t rsp;                           /* 0x1D8 */
	uint64_t s_cet, ssp, isst_addr;         /* 0x1E0 */
	uint64_t rax;                           /* 0x1F8 */
	uint64_t star, lstar, cstar, sfmask;    /* 0x200 */
	uint64_t kernel_gs_base;                /* 0x220 */
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip; /* 0x228 */
	uint64_t cr2;                           /* 0x240 */
	uint8_t  reserved_248[0x268 - 0x248];
	uint64_t g_pat;                         /* 0x268 */
	uint64_t dbgctl;                        /* 0x270 */
	uint64_t br_from, br_to;                /* 0x278 */
	uint64_t last_excp_from, last_excp_to;  /* 0x288 */
	uint8_t  reserved_298[0xC00 - 0x298];
} __packed;

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __packed;

_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area is 1 KiB");
_Static_assert(__builtin_offsetof(struct vmcb_control, exit_code) == 0x070, "VMCB EXITCODE offset");
_Static_assert(__builtin_offsetof(struct vmcb_control, n_cr3) == 0x0B0, "VMCB N_CR3 offset");
_Static_assert(__builtin_offsetof(struct vmcb_control, next_rip) == 0x0C8, "VMCB nRIP offset");
_Static_assert(__builtin_offsetof(struct vmcb_save, efer) == 0x0D0, "VMCB EFER offset");
_Static_assert(__builtin_offsetof(struct vmcb_save, cr4) == 0x148, "VMCB CR4 offset");
_Static_assert(__builtin_offsetof(struct vmcb_save, rsp) == 0x1D8, "VMCB RSP offset");
_Static_assert(__builtin_offsetof(struct vmcb_save, rax) == 0x1F8, "VMCB RAX offset");
_Static_assert(__builtin_offsetof(struct vmcb_save, g_pat) == 0x268, "VMCB G_PAT offset");
_Static_assert(sizeof(struct vmcb) == PAGE_SIZE, "a VMCB is one page");

/* Intercept vector at 0x00C (15.9-15.14). */
#define SVM_INTERCEPT1_INTR     (1u << 0)
#define SVM_INTERCEPT1_NMI      (1u << 1)
#define SVM_INTERCEPT1_SMI      (1u << 2)
#define SVM_INTERCEPT1_INIT     (1u << 3)
#define SVM_INTERCEPT1_CPUID    (1u << 18)
#define SVM_INTERCEPT1_INVD     (1u << 22)
#define SVM_INTERCEPT1_HLT      (1u << 24)
#define SVM_INTERCEPT1_INVLPGA  (1u << 26)
#define SVM_INTERCEPT1_IOIO     (1u << 27)
#define SVM_INTERCEPT1_MSR      (1u << 28)
#define SVM_INTERCEPT1_SHUTDOWN (1u << 31)
/* Intercept vector at 0x010. */
#define SVM_INTERCEPT2_VMRUN    (1u << 0)
#define SVM_INTERCEPT2_VMMCALL  (1u << 1)
#define SVM_INTERCEPT2_VMLOAD   (1u << 2)
#define SVM_INTERCEPT2_VMSAVE   (1u << 3)
#define SVM_INTERCEPT2_STGI     (1u << 4)
#define SVM_INTERCEPT2_CLGI     (1u << 5)
#define SVM_INTERCEPT2_SKINIT   (1u << 6)
#define SVM_INTERCEPT2_XSETBV   (1u << 13)

/* int_ctl (0x060) */
#define SVM_INT_CTL_V_INTR_MASKING (1ULL << 24)
/* np_control (0x090) */
#define SVM_NP_ENABLE           (1ULL << 0)
/* tlb_control (0x05C), 15.16.1 "TLB flush" */
#define SVM_TLB_FLUSH_NOTHING   0
#define SVM_TLB_FLUSH_ALL       1
/* TLB_CONTROL 3: flush this guest's ASID only (needs FLUSH_BY_ASID). */
#define SVM_TLB_FLUSH_ASID      3
/* VMCB clean bits (15.15.3): every field group we never change between runs. */
#define SVM_CLEAN_ALL_STABLE    0x000007FFu
/* EXITINTINFO / EVENTINJ (15.20): bit 31 valid. */
#define SVM_EVTINJ_VALID        (1ULL << 31)

/* Exit codes (appendix C). */
#define SVM_EXIT_EXCP_BASE      0x040   /* + vector */
#define SVM_EXIT_INTR           0x060
#define SVM_EXIT_NMI            0x061
#define SVM_EXIT_SMI            0x062
#define SVM_EXIT_INIT           0x063
#define SVM_EXIT_CPUID          0x072
#define SVM_EXIT_INVD           0x076
#define SVM_EXIT_HLT            0x078
#define SVM_EXIT_INVLPGA        0x07A
#define SVM_EXIT_IOIO           0x07B
#define SVM_EXIT_MSR            0x07C
#define SVM_EXIT_SHUTDOWN       0x07F
#define SVM_EXIT_VMRUN          0x080
#define SVM_EXIT_VMMCALL        0x081
#define SVM_EXIT_VMLOAD         0x082
#define SVM_EXIT_VMSAVE         0x083
#define SVM_EXIT_STGI           0x084
#define SVM_EXIT_CLGI           0x085
#define SVM_EXIT_SKINIT         0x086
#define SVM_EXIT_XSETBV         0x08D
#define SVM_EXIT_NPF            0x400
#define SVM_EXIT_INVALID        ((uint64_t)-1)

/* IOIO EXITINFO1 (15.10.2, figure 15-2). */
#define SVM_IOIO_TYPE_IN        (1u << 0)
#define SVM_IOIO_STR            (1u << 2)
#define SVM_IOIO_REP            (1u << 3)
#define SVM_IOIO_SZ8            (1u << 4)
#define SVM_IOIO_SZ16           (1u << 5)
#define SVM_IOIO_SZ32           (1u << 6)
#define SVM_IOIO_PORT_SHIFT     16

/* Permission maps (15.10.1, 15.11): sizes in bytes. */
#define SVM_IOPM_SIZE           (12 * 1024)
#define SVM_MSRPM_SIZE          (8 * 1024)

/* ---- instructions (15.5, 15.17) ---- */
static inline void svm_clgi(void) { __asm__ volatile("clgi" ::: "memory"); }
static inline void svm_stgi(void) { __asm__ volatile("stgi" ::: "memory"); }
/* VMSAVE (15.5.2): FS, GS, TR, LDTR with their hidden parts, KernelGsBase,
 * STAR/LSTAR/CSTAR/SFMASK and SYSENTER_CS/ESP/EIP to the page at pa. */
static inline void svm_vmsave(uint64_t pa) { __asm__ volatile("vmsave %%rax" :: "a"(pa) : "memory"); }

/* The SVM backend (arch/x86/svm/), for arch_virt_ops(). */
struct virt_ops;
extern const struct virt_ops svm_ops;

#endif

/*
 * Intel VMX: capability MSRs, control bits, exit reasons and the VMX
 * instructions as thin wrappers (Intel SDM vol 3C, ch. 24-32 and
 * appendices A "VMX capability reporting facility" and C "VMX basic exit
 * reasons").  VMCS field encodings are in asm/vmx_vmcs.h.
 *
 * Section numbers are those of the SDM edition pinned in docs/HACKING.md
 * (ch. 24 "Introduction to virtual machine extensions", 25 "Virtual machine
 * control structures", 27 "VM entries", 28 "VM exits", 29 "VMX support for
 * address translation", 31 "VMX instruction reference"); section titles are
 * quoted where they help find the text in another edition.
 */
#ifndef ASM_VMX_H
#define ASM_VMX_H
#include <vigil/types.h>

/* ---- capability MSRs (SDM appendix A) ---- */
#define MSR_IA32_VMX_BASIC            0x480
#define MSR_IA32_VMX_PINBASED_CTLS    0x481
#define MSR_IA32_VMX_PROCBASED_CTLS   0x482
#define MSR_IA32_VMX_EXIT_CTLS        0x483
#define MSR_IA32_VMX_ENTRY_CTLS       0x484
#define MSR_IA32_VMX_MISC             0x485
#define MSR_IA32_VMX_CR0_FIXED0       0x486
#define MSR_IA32_VMX_CR0_FIXED1       0x487
#define MSR_IA32_VMX_CR4_FIXED0       0x488
#define MSR_IA32_VMX_CR4_FIXED1       0x489
#define MSR_IA32_VMX_VMCS_ENUM        0x48A
#define MSR_IA32_VMX_PROCBASED_CTLS2  0x48B
#define MSR_IA32_VMX_EPT_VPID_CAP     0x48C
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS  0x48D
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48E
#define MSR_IA32_VMX_TRUE_EXIT_CTLS   0x48F
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS  0x490
#define MSR_IA32_VMX_VMFUNC           0x491

#define MSR_IA32_SYSENTER_CS   0x174
#define MSR_IA32_SYSENTER_ESP  0x175
#define MSR_IA32_SYSENTER_EIP  0x176
#define MSR_IA32_DEBUGCTL      0x1D9

/* IA32_FEATURE_CONTROL (SDM 24.7 "Enabling and entering VMX operation"). */
#define FEATURE_CONTROL_LOCKED        (1ULL << 0)
#define FEATURE_CONTROL_VMXON_IN_SMX  (1ULL << 1)
#define FEATURE_CONTROL_VMXON         (1ULL << 2)   /* VMXON outside SMX */

/* IA32_VMX_BASIC (A.1 "Basic VMX information"). */
#define VMX_BASIC_REVISION(b)    ((uint32_t)((b) & 0x7FFFFFFFULL))
#define VMX_BASIC_VMCS_SIZE(b)   ((unsigned)(((b) >> 32) & 0x1FFF))
#define VMX_BASIC_32BIT_ADDR     (1ULL << 48)
#define VMX_BASIC_MEMTYPE(b)     ((unsigned)(((b) >> 50) & 0xF))
#define VMX_BASIC_INOUT          (1ULL << 54)
#define VMX_BASIC_TRUE_CTLS      (1ULL << 55)
#define VMX_MEMTYPE_UC 0
#define VMX_MEMTYPE_WB 6

/* CPUID.1:ECX.VMX (SDM 24.6 "Discovering support for VMX"). */
#define CPUID_1_ECX_VMX          (1U << 5)
#define CPUID_1_ECX_HYPERVISOR   (1U << 31)

/* Pin-based VM-execution controls (25.6.1). */
#define PIN_EXT_INTR_EXITING     (1U << 0)
#define PIN_NMI_EXITING          (1U << 3)
#define PIN_VIRTUAL_NMIS         (1U << 5)

/* Primary processor-based VM-execution controls (25.6.2, table 25-6). */
#define CPU_HLT_EXITING          (1U << 7)
#define CPU_INVLPG_EXITING       (1U << 9)
#define CPU_CR3_LOAD_EXITING     (1U << 15)
#define CPU_CR3_STORE_EXITING    (1U << 16)
#define CPU_UNCOND_IO_EXITING    (1U << 24)
#define CPU_USE_IO_BITMAPS       (1U << 25)
#define CPU_USE_MSR_BITMAPS      (1U << 28)
#define CPU_SECONDARY_CONTROLS   (1U << 31)

/* Secondary processor-based VM-execution controls (25.6.2, table 25-7). */
#define CPU2_ENABLE_EPT          (1U << 1)
#define CPU2_ENABLE_VPID         (1U << 5)
#define CPU2_UNRESTRICTED_GUEST  (1U << 7)
#define CPU2_ENABLE_VMFUNC       (1U << 13)

/* VM-exit controls (25.7.1). */
#define EXIT_SAVE_DEBUG_CONTROLS (1U << 2)
#define EXIT_HOST_ADDR_SPACE_SIZE (1U << 9)
#define EXIT_ACK_INTR_ON_EXIT    (1U << 15)
#define EXIT_LOAD_IA32_EFER      (1U << 21)

/* VM-entry controls (25.8.1). */
#define ENTRY_LOAD_DEBUG_CONTROLS (1U << 2)
#define ENTRY_IA32E_MODE_GUEST   (1U << 9)
#define ENTRY_LOAD_IA32_EFER     (1U << 15)

/* IA32_VMX_EPT_VPID_CAP (A.10). */
#define EPT_CAP_WALK_4           (1ULL << 6)
#define EPT_CAP_MEMTYPE_UC       (1ULL << 8)
#define EPT_CAP_MEMTYPE_WB       (1ULL << 14)
#define EPT_CAP_INVEPT           (1ULL << 20)
#define EPT_CAP_INVEPT_SINGLE    (1ULL << 25)
#define EPT_CAP_INVEPT_ALL       (1ULL << 26)

/* INVEPT types (31.3 "INVEPT"). */
#define INVEPT_SINGLE_CONTEXT 1
#define INVEPT_ALL_CONTEXT    2

/* Basic exit reasons (appendix C). */
#define EXIT_REASON_EXCEPTION_NMI   0
#define EXIT_REASON_EXTERNAL_INTR   1
#define EXIT_REASON_TRIPLE_FAULT    2
#define EXIT_REASON_INIT            3
#define EXIT_REASON_CPUID           10
#define EXIT_REASON_HLT             12
#define EXIT_REASON_VMCALL          18
#define EXIT_REASON_CR_ACCESS       28
#define EXIT_REASON_IO              30
#define EXIT_REASON_MSR_READ        31
#define EXIT_REASON_MSR_WRITE       32
#define EXIT_REASON_INVALID_GUEST   33
#define EXIT_REASON_MSR_LOADING     34
#define EXIT_REASON_MCE_DURING_ENTRY 41
#define EXIT_REASON_EPT_VIOLATION   48
#define EXIT_REASON_EPT_MISCONFIG   49
#define EXIT_REASON_ENTRY_FAILURE   (1U << 31)

/* VM-exit interruption information (25.9.2, table 25-15). */
#define INTR_INFO_VECTOR(i)   ((i) & 0xFF)
#define INTR_INFO_TYPE(i)     (((i) >> 8) & 7)
#define INTR_INFO_VALID       (1U << 31)
#define INTR_TYPE_NMI         2
#define INTR_TYPE_HW_EXCEPTION 3
#define VEC_UD_EXCEPTION      6

/* Exit qualification for I/O instructions (28.2.1, table 28-5). */
#define IO_QUAL_SIZE(q)   ((unsigned)((q) & 7) + 1)
#define IO_QUAL_IN        (1ULL << 3)
#define IO_QUAL_STRING    (1ULL << 4)
#define IO_QUAL_PORT(q)   ((unsigned)(((q) >> 16) & 0xFFFF))

/* ---- the VMX instructions (31.3) ----
 * A VMX instruction reports VMfailInvalid with CF=1 and VMfailValid with
 * ZF=1 (31.2 "Conventions"); these return VMX_OK, VMX_FAIL_VALID or
 * VMX_FAIL_INVALID.  Operand order below is AT&T. */
enum { VMX_OK = 0, VMX_FAIL_VALID = 1, VMX_FAIL_INVALID = 2 };

static inline int vmx_flags_result(bool cf, bool zf)
{
	return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

static inline int vmclear(uint64_t pa)
{
	bool cf, zf;
	__asm__ volatile("vmclear %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
	return vmx_flags_result(cf, zf);
}

static inline int vmptrld(uint64_t pa)
{
	bool cf, zf;
	__asm__ volatile("vmptrld %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
	return vmx_flags_result(cf, zf);
}

static inline int vmxoff(void)
{
	bool cf, zf;
	__asm__ volatile("vmxoff" : "=@ccc"(cf), "=@ccz"(zf) :: "memory");
	return vmx_flags_result(cf, zf);
}

static inline int vmwrite(uint64_t field, uint64_t value)
{
	bool cf, zf;
	__asm__ volatile("vmwrite %[value], %[field]"
			 : "=@ccc"(cf), "=@ccz"(zf) : [value] "rm"(value), [field] "r"(field) : "memory");
	return vmx_flags_result(cf, zf);
}

/* Fields are read where their value is known to exist (exit information,
 * the error field); a failing VMREAD leaves 0. */
static inline uint64_t vmread(uint64_t field)
{
	uint64_t value = 0;
	__asm__ volatile("vmread %[field], %[value]" : [value] "+r"(value) : [field] "r"(field) : "cc");
	return value;
}

static inline int invept(unsigned type, uint64_t eptp)
{
	struct { uint64_t eptp, zero; } desc = { eptp, 0 };
	bool cf, zf;
	__asm__ volatile("invept %[desc], %[type]"
			 : "=@ccc"(cf), "=@ccz"(zf) : [desc] "m"(desc), [type] "r"((uint64_t)type) : "memory");
	return vmx_flags_result(cf, zf);
}

/* The backend (arch/x86/vmx/vmx_ops.c); arch_virt_ops() returns it. */
struct virt_ops;
extern const struct virt_ops vmx_ops;

#endif

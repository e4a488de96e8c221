/*
 * VMCS field encodings (Intel SDM vol 3C, appendix B "Field encoding in
 * VMCS").  An encoding packs the width (bits 14:13: 16-bit, 64-bit, 32-bit,
 * natural), the type (bits 11:10: control, read-only exit information,
 * guest state, host state) and an index (25.11.2 "VMREAD, VMWRITE, and
 * encodings of VMCS fields").  Only the fields vigil uses are listed.
 */
#ifndef ASM_VMX_VMCS_H
#define ASM_VMX_VMCS_H

/* 16-bit guest-state fields (B.1.2). */
#define GUEST_ES_SELECTOR          0x0800
#define GUEST_CS_SELECTOR          0x0802
#define GUEST_SS_SELECTOR          0x0804
#define GUEST_DS_SELECTOR          0x0806
#define GUEST_FS_SELECTOR          0x0808
#define GUEST_GS_SELECTOR          0x080A
#define GUEST_LDTR_SELECTOR        0x080C
#define GUEST_TR_SELECTOR          0x080E
/* 16-bit host-state fields (B.1.3). */
#define HOST_ES_SELECTOR           0x0C00
#define HOST_CS_SELECTOR           0x0C02
#define HOST_SS_SELECTOR           0x0C04
#define HOST_DS_SELECTOR           0x0C06
#define HOST_FS_SELECTOR           0x0C08
#define HOST_GS_SELECTOR           0x0C0A
#define HOST_TR_SELECTOR           0x0C0C

/* 64-bit control fields (B.2.1). */
#define EPT_POINTER                0x201A
/* 64-bit read-only data field (B.2.2). */
#define GUEST_PHYSICAL_ADDRESS     0x2400
/* 64-bit guest-state fields (B.2.3). */
#define VMCS_LINK_POINTER          0x2800
#define GUEST_IA32_DEBUGCTL        0x2802
#define GUEST_IA32_EFER            0x2806
/* 64-bit host-state fields (B.2.4). */
#define HOST_IA32_EFER             0x2C02

/* 32-bit control fields (B.3.1). */
#define PIN_BASED_VM_EXEC_CONTROL  0x4000
#define CPU_BASED_VM_EXEC_CONTROL  0x4002
#define EXCEPTION_BITMAP           0x4004
#define PAGE_FAULT_ERROR_CODE_MASK 0x4006
#define PAGE_FAULT_ERROR_CODE_MATCH 0x4008
#define CR3_TARGET_COUNT           0x400A
#define VM_EXIT_CONTROLS           0x400C
#define VM_EXIT_MSR_STORE_COUNT    0x400E
#define VM_EXIT_MSR_LOAD_COUNT     0x4010
#define VM_ENTRY_CONTROLS          0x4012
#define VM_ENTRY_MSR_LOAD_COUNT    0x4014
#define VM_ENTRY_INTR_INFO_FIELD   0x4016
#define SECONDARY_VM_EXEC_CONTROL  0x401E
/* 32-bit read-only data fields (B.3.2). */
#define VM_INSTRUCTION_ERROR       0x4400
#define VM_EXIT_REASON             0x4402
#define VM_EXIT_INTR_INFO          0x4404
#define VM_EXIT_INTR_ERROR_CODE    0x4406
#define IDT_VECTORING_INFO_FIELD   0x4408
#define VM_EXIT_INSTRUCTION_LEN    0x440C
/* 32-bit guest-state fields (B.3.3). */
#define GUEST_ES_LIMIT             0x4800
#define GUEST_CS_LIMIT             0x4802
#define GUEST_SS_LIMIT             0x4804
#define GUEST_DS_LIMIT             0x4806
#define GUEST_FS_LIMIT             0x4808
#define GUEST_GS_LIMIT             0x480A
#define GUEST_LDTR_LIMIT           0x480C
#define GUEST_TR_LIMIT             0x480E
#define GUEST_GDTR_LIMIT           0x4810
#define GUEST_IDTR_LIMIT           0x4812
#define GUEST_ES_AR_BYTES          0x4814
#define GUEST_CS_AR_BYTES          0x4816
#define GUEST_SS_AR_BYTES          0x4818
#define GUEST_DS_AR_BYTES          0x481A
#define GUEST_FS_AR_BYTES          0x481C
#define GUEST_GS_AR_BYTES          0x481E
#define GUEST_LDTR_AR_BYTES        0x4820
#define GUEST_TR_AR_BYTES          0x4822
#define GUEST_INTERRUPTIBILITY_INFO 0x4824
#define GUEST_ACTIVITY_STATE       0x4826
#define GUEST_SYSENTER_CS          0x482A
/* 32-bit host-state field (B.3.4). */
#define HOST_IA32_SYSENTER_CS      0x4C00

/* Natural-width control fields (B.4.1). */
#define CR0_GUEST_HOST_MASK        0x6000
#define CR4_GUEST_HOST_MASK        0x6002
#define CR0_READ_SHADOW            0x6004
#define CR4_READ_SHADOW            0x6006
/* Natural-width read-only data fields (B.4.2). */
#define EXIT_QUALIFICATION         0x6400
#define GUEST_LINEAR_ADDRESS       0x640A
/* Natural-width guest-state fields (B.4.3). */
#define GUEST_CR0                  0x6800
#define GUEST_CR3                  0x6802
#define GUEST_CR4                  0x6804
#define GUEST_ES_BASE              0x6806
#define GUEST_CS_BASE              0x6808
#define GUEST_SS_BASE              0x680A
#define GUEST_DS_BASE              0x680C
#define GUEST_FS_BASE              0x680E
#define GUEST_GS_BASE              0x6810
#define GUEST_LDTR_BASE            0x6812
#define GUEST_TR_BASE              0x6814
#define GUEST_GDTR_BASE            0x6816
#define GUEST_IDTR_BASE            0x6818
#define GUEST_DR7                  0x681A
#define GUEST_RSP                  0x681C
#define GUEST_RIP                  0x681E
#define GUEST_RFLAGS               0x6820
#define GUEST_PENDING_DBG_EXCEPTIONS 0x6822
#define GUEST_SYSENTER_ESP         0x6824
#define GUEST_SYSENTER_EIP         0x6826
/* Natural-width host-state fields (B.4.4). */
#define HOST_CR0                   0x6C00
#define HOST_CR3                   0x6C02
#define HOST_CR4                   0x6C04
#define HOST_FS_BASE               0x6C06
#define HOST_GS_BASE               0x6C08
#define HOST_TR_BASE               0x6C0A
#define HOST_GDTR_BASE             0x6C0C
#define HOST_IDTR_BASE             0x6C0E
#define HOST_IA32_SYSENTER_ESP     0x6C10
#define HOST_IA32_SYSENTER_EIP     0x6C12
#define HOST_RSP                   0x6C14
#define HOST_RIP                   0x6C16

#endif

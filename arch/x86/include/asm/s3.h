/*
 * ACPI S3 (suspend to RAM) on x86: the CPU context saved before sleeping and
 * restored by the waking code, and the PM1 register helpers of acpi_sleep.c.
 */
#ifndef ASM_S3_H
#define ASM_S3_H
#include <vigil/types.h>

/*
 * What s3_save_context() records and s3_resume_entry (s3_wake.asm) restores
 * before it returns into the saving C function a second time.  Offsets are
 * fixed: the assembly uses the S3CTX_* values, s3.c checks them with
 * static assertions.
 */
struct s3_context {
	uint64_t rbx, rbp, r12, r13, r14, r15;  /* callee-saved (System V ABI) */
	uint64_t rsp, rip, rflags;              /* where s3_save_context returns */
	uint64_t cr0, cr3, cr4, efer;
	uint64_t fs_base, gs_base, kernel_gs_base;
	uint8_t gdtr[16];                       /* SGDT image: limit (2) + base (8) */
	uint8_t idtr[16];                       /* SIDT image */
	uint16_t cs, ds, es, ss, fs, gs, tr;
};
#define S3CTX_RSP     48
#define S3CTX_RIP     56
#define S3CTX_RFLAGS  64
#define S3CTX_CR0     72
#define S3CTX_CR3     80
#define S3CTX_CR4     88
#define S3CTX_EFER    96
#define S3CTX_FS_BASE 104
#define S3CTX_GS_BASE 112
#define S3CTX_KGS_BASE 120
#define S3CTX_GDTR    128
#define S3CTX_IDTR    144
#define S3CTX_CS      160

/* Save the context into *ctx and return 0; return again, with 1, when the
 * machine wakes from S3 (like setjmp).  Interrupts must be off. */
__attribute__((returns_twice)) int s3_save_context(struct s3_context *ctx);
/* The kernel's waking code, entered from the trampoline in 64-bit mode on
 * the kernel page tables, with no stack; restores s3_resume_ctx. */
void s3_resume_entry(void);
extern struct s3_context *s3_resume_ctx;

/* The trampoline page (boot_info.trampoline_phys), from x86_boot(). */
void s3_init(uint64_t trampoline_phys);
/* Successful S3 cycles since boot. */
unsigned s3_wakeup_count(void);
/* Whether the last wake came back with SCI_EN clear (and it was set again). */
bool s3_sci_en_was_lost(void);
/* Whether the TSC restarted from 0 in the last S3 (and was set forward). */
bool s3_tsc_restarted(void);
/* The serial console: let the transmitter empty before sleeping, program
 * the UART again after wake (s3_console.c). */
void x86_serial_console_drain(void);
void x86_serial_console_resume(void);

/* PCI configuration headers of every function, saved before the sleep and
 * written back after it where they differ (s3_pci.c). */
void s3_pci_save(void);
void s3_pci_restore(void);
unsigned s3_pci_restored_count(void);
/* Whether a function with this vendor:device ID was found by s3_pci_save(). */
bool s3_pci_present(uint16_t vendor, uint16_t device);
/* The QEMU/Bochs VGA's display mode (s3_bochs_vga.c); restore returns
 * whether it had to set the mode again. */
void s3_bochs_vga_save(void);
bool s3_bochs_vga_restore(void);

/* ---- PM1 registers (acpi_sleep.c) ---- */

/* PM1 control (ACPI 6.5 4.8.3.2.1) and status (4.8.3.1.1) bits. */
#define ACPI_PM1_SCI_EN        (1u << 0)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK  (7u << 10)
#define ACPI_PM1_SLP_EN        (1u << 13)
#define ACPI_PM1_WAK_STS       (1u << 15)
/* Every fixed status bit: TMR, BM, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE, WAK. */
#define ACPI_PM1_ALL_STATUS    0xC731u

/* Check that the FADT's PM1 blocks can be used; 0, or -1 with why filled. */
int acpi_sleep_regs_usable(char *why, size_t len);
/* Clear every PM1 fixed status bit (write-1-to-clear), in a and b. */
void acpi_pm1_clear_status(void);
/* WAK_STS of PM1a (or PM1b) status; false when there is no event block. */
bool acpi_pm1_wake_status(void);
/* Read / write the PM1 control register of block a or b (b absent: 0 / ignored). */
uint16_t acpi_pm1_cnt_read(bool b);
void acpi_pm1_cnt_write(bool b, uint16_t v);
/* Hand the SCI back to the OS after a wake (SCI_EN is cleared by the
 * reset): ACPI_ENABLE through SMI_CMD, else SCI_EN directly.  Returns
 * whether SCI_EN is now set. */
bool acpi_sci_enable(void);
/* 0, or -1 with why when a CPU hot-added since boot is present (S3 is then
 * refused: arch/x86/acpi_cpu_hotplug.c). */
int acpi_cpuhp_s3_blocker(char *why, size_t len);

#endif

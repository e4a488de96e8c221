/*
 * ACPI S3 (suspend to RAM) on x86: the CPU context saved before sleeping and
 * restored by the waking code (the ACPI half is include/vigil/acpi_sleep.h).
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

/* The trampoline page (boot_info.trampoline_phys), from x86_boot(); registers
 * ACPI S3 as the platform sleep (include/vigil/platform_sleep.h). */
void s3_init(uint64_t trampoline_phys);
/* Successful S3 cycles since boot. */
unsigned s3_wakeup_count(void);
/* Whether the last wake came back with SCI_EN clear (and it was set again). */
bool s3_sci_en_was_lost(void);
/* Whether the TSC restarted from 0 in the last S3 (and was set forward). */
bool s3_tsc_restarted(void);
/* Where the time of the last successful S3 went (TSC time): save = entry
 * to the SLP_EN write; sleep = SLP_EN to the first instruction at the
 * waking vector (the time asleep plus the firmware's resume path);
 * restore = waking vector to the end of the wake (devices included). */
struct s3_times {
	uint64_t save_ns, sleep_ns, restore_ns;
};
void s3_last_times(struct s3_times *t);

/* The devices' suspend/resume callbacks (include/vigil/dev_pm.h), registered
 * at boot in this order: the PCI configuration headers of every function,
 * saved before the sleep and written back after it where they differ
 * (s3_pci.c); the QEMU/Bochs VGA's display mode (s3_bochs_vga.c); the
 * serial console: let the transmitter empty before sleeping, program the
 * UART again after wake (s3_console.c). */
void s3_pci_register_pm(void);
void s3_bochs_vga_register_pm(void);
void x86_serial_console_register_pm(void);
unsigned s3_pci_restored_count(void);
/* Whether a function with this vendor:device ID was found by the last PCI save. */
bool s3_pci_present(uint16_t vendor, uint16_t device);
/* The serial console's MMIO registers when it is not on I/O ports (setup.c). */
extern void *x86_serial_mmio_regs;

/* 0, or -1 with why when a CPU hot-added since boot is present (S3 is then
 * refused: arch/x86/acpi_cpu_hotplug.c). */
int acpi_cpuhp_s3_blocker(char *why, size_t len);

#endif

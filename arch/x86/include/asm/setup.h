/* The boot CPU's way from the loader to kernel_main() (setup.c). */
#ifndef ASM_SETUP_H
#define ASM_SETUP_H
#include <vigil/boot_info.h>
#include <vigil/types.h>

/* Entered from entry.asm with the loader's boot_info. */
void x86_boot(uint64_t boot_info_phys);
/* The kernel's page tables and allocators (mm_init.c). */
void x86_mm_init(const struct boot_info *bi);
/* Parse the ACPI tables and use them (acpi_init.c). */
void x86_acpi_init(const struct boot_info *bi);

/* The serial console (serial_console.c): COM1 at once, then the one the
 * command line or the ACPI SPCR table names, checked and probed first. */
struct acpi_info;
void serial_console_early(void);
void serial_console_late(const struct boot_info *bi);
void serial_console_spcr(const struct boot_info *bi, const struct acpi_info *ai);
void serial_console_report_fb(void);
#endif

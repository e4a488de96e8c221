/*
 * Memory types: every CPU runs with the MTRRs and PAT the boot CPU had when
 * the kernel started (SDM vol 3, "MTRR Considerations in MP Systems",
 * 12.11.8: all processors must use identical MTRR values).
 *
 * At boot the firmware has already made the APs agree, and INIT leaves the
 * MTRRs and PAT alone (SDM vol 3, Table 10-1, "IA-32 and Intel 64 Processor
 * States Following Power-up, Reset, or INIT").  A CPU that lost power, every
 * CPU after ACPI S3, comes back with its MTRRs disabled (everything
 * uncacheable) and the power-up PAT, and nothing but the OS puts them back
 * on the APs.  So each CPU is compared with the boot reference when it
 * comes online and loaded from it where it differs.
 */
#ifndef ASM_MTRR_H
#define ASM_MTRR_H
#include <vigil/types.h>

/* Record the boot CPU's MTRRs and PAT as the reference (boot CPU, once,
 * before any AP starts). */
void mtrr_init_boot(void);

/* Make this CPU's MTRRs and PAT equal to the reference; interrupts off.
 * Returns how many registers differed (0: nothing written) and the first
 * of them in *first_msr. */
unsigned mtrr_sync_this_cpu(uint32_t *first_msr);

/* How many of this CPU's registers differ from the reference. */
unsigned mtrr_diff_this_cpu(uint32_t *first_msr);

/* Loads done by mtrr_sync_this_cpu on cpu since boot (for `cpus`, tests). */
unsigned mtrr_syncs(unsigned cpu);

#endif

/* Time sources: TSC calibrated against the HPET or the PIT. */
#ifndef ASM_TIME_H
#define ASM_TIME_H
#include <vigil/types.h>
extern uint64_t tsc_hz;
extern const char *tsc_calibration_source;
/* Calibrate the TSC; hpet_phys is the HPET base from ACPI (0 = none). */
void tsc_calibrate(uint64_t hpet_phys);
void udelay(uint64_t us);
/* Busy-wait using the PIT channel 2 (works before the TSC is known). */
void pit_delay_us(uint32_t us);
/* Record the TSC at boot, the zero of the kernel clock (tsc.c). */
void tsc_mark_boot(void);
#endif

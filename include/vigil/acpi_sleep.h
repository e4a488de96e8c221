/*
 * The ACPI sleep sequence (drivers/acpi/sleep.c), shared by S3 (arch/x86/s3.c)
 * and S5 (poweroff, arch/x86/power.c): the fixed PM1 registers (ACPI 6.5
 * 4.8.3), SLP_TYPx/SLP_EN, handing the SCI back to the OS, and the FACS
 * waking vector (5.2.10).  What is saved of the CPU and how it comes back is
 * the architecture's (the waking trampoline); which devices need what is
 * theirs (include/vigil/dev_pm.h).
 */
#ifndef VIGIL_ACPI_SLEEP_H
#define VIGIL_ACPI_SLEEP_H
#include <vigil/acpi.h>
#include <vigil/types.h>

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
/* Hand the SCI to the OS (SCI_EN, which a reset or legacy-mode firmware
 * leaves clear): ACPI_ENABLE through SMI_CMD, else SCI_EN directly.
 * Returns whether SCI_EN is now set. */
bool acpi_sci_enable(void);

/* Entering a sleep state (ACPI 6.5 16.1.6), in two steps so that the caller
 * may act between them (flush caches, take a timestamp):
 * acpi_sleep_write_type() clears the PM1 status bits and writes SLP_TYPx
 * (from st) into PM1a then PM1b control, keeping their other bits;
 * acpi_sleep_write_enable() then sets SLP_EN, a before b.  The platform
 * normally powers down at the second write. */
void acpi_sleep_write_type(const struct acpi_sleep_type *st);
void acpi_sleep_write_enable(void);

/* ACPI S5 (soft off, 7.4.2): the sequence above with the \_S5 type, after
 * making sure the OS owns the PM registers.  Returns -1 at once when there
 * is no usable \_S5 or PM1 control block; otherwise the write was made and
 * the caller waits for the machine to go down. */
int acpi_enter_s5(void);

/* The FACS firmware waking vectors (5.2.10): save the current ones, install
 * a real-mode vector (the 64-bit X vector cleared, so that the firmware
 * uses the 32-bit one; Table 5.14), and put back the saved ones. */
void acpi_waking_vector_save(void);
void acpi_waking_vector_set(uint32_t real_mode_vector);
void acpi_waking_vector_restore(void);
#endif

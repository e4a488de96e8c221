/*
 * The platform sleep interface (a counterpart of Linux's
 * platform_suspend_ops): how the machine enters a sleep state and comes
 * back, registered by the architecture (arch/x86/s3.c: ACPI S3 through
 * drivers/acpi/sleep.c and the waking trampoline).  core/power drives it
 * and runs the device callbacks (include/vigil/dev_pm.h) in between.
 *
 * platform_sleep_enter() runs, on the boot CPU with interrupts off and
 * every other CPU offline:
 *   prepare()  check and save what the sleep loses of the CPU and the
 *              firmware registers; -1 with why: nothing changed;
 *   dev_pm_suspend();
 *   enter(ps)  sleep and come back with the CPU's context (control
 *              registers, descriptor tables, stack) restored; 0, or -1
 *              with why when the machine did not sleep (what enter()
 *              wrote is undone).  ps non-NULL: every kernel page is hashed
 *              just before the sleep and compared just after it
 *              (include/vigil/page_snapshot.h);
 *   dev_pm_resume();
 *   wake()     only after a sleep: restore the rest of the machine
 *              (interrupt controllers, timer, firmware registers).
 */
#ifndef VIGIL_PLATFORM_SLEEP_H
#define VIGIL_PLATFORM_SLEEP_H
#include <vigil/types.h>

struct page_snapshot;

struct platform_sleep_ops {
	/* Whether this machine can sleep: 0, or -1 with the precise reason
	 * ("no \_S3 package in the DSDT", ...).  May be called any time. */
	int (*valid)(char *why, size_t len);
	int (*prepare)(char *why, size_t len);
	int (*enter)(struct page_snapshot *ps, char *why, size_t len);
	void (*wake)(void);
};

/* At boot, by the architecture; NULL: no platform sleep. */
void platform_sleep_set_ops(const struct platform_sleep_ops *ops);
/* 0, or -1 with why (also when no platform registered). */
int platform_sleep_valid(char *why, size_t len);
/* The sequence above; 0 after a sleep and wake, -1 with why when the
 * machine did not sleep.  Interrupts must be off. */
int platform_sleep_enter(struct page_snapshot *ps, char *why, size_t len);
#endif

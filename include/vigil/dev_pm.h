/*
 * Device suspend/resume callbacks around a platform sleep (a minimal
 * counterpart of Linux's dev_pm_ops): a driver whose device loses state in
 * the sleep (PCI configuration headers, the display mode, the UART's line
 * settings) registers what to save and what to put back; the sleep path
 * (core/power/platform_sleep.c) walks the list and never names a device.
 *
 * Both walks run on the boot CPU with interrupts off and every other CPU
 * offline, right around the platform's enter(): suspend just before it,
 * resume just after it (also when the platform did not sleep, so a resume
 * callback must be harmless then: restoring what was just saved).
 *
 * Order: both walks follow registration order.  Unlike Linux, which
 * suspends children first, saving here only reads, and what a later
 * device needs of an earlier one holds in both directions (the display's
 * registers sit behind a PCI function: its save asks which functions the
 * PCI save found, its restore needs the function's BARs back first).
 *
 * Registration is for boot, before the first suspend, and is not locked.
 */
#ifndef VIGIL_DEV_PM_H
#define VIGIL_DEV_PM_H
#include <vigil/list.h>

struct dev_pm_ops {
	const char *name;
	void (*suspend)(void);   /* optional */
	void (*resume)(void);    /* optional */
	struct list_head node;   /* the list's */
};

void dev_pm_register(struct dev_pm_ops *ops);
void dev_pm_suspend(void);
void dev_pm_resume(void);
#endif

/*
 * System suspend and resume (docs/design.md section 6) and the task freezer.
 *
 * One cycle: freeze the freezable tasks; take every non-boot CPU offline
 * through CPU hotplug (so their ONLINE teardowns -- virtualization off --
 * run as for any offline); on the boot CPU with interrupts off run the
 * syscore suspend callbacks; sleep (simulated, or the platform's sleep
 * state with the device callbacks around it: include/vigil/platform_sleep.h);
 * syscore resume; bring the CPUs back online; thaw.
 *
 * Freezer: a kernel thread that must not run across a suspend calls
 * set_freezable() once and try_to_freeze() at points where it holds no
 * locks; while a suspend is under way it sleeps there until the thaw.
 */
#ifndef VIGIL_SUSPEND_H
#define VIGIL_SUSPEND_H
#include <vigil/types.h>

struct suspend_times {
	uint64_t suspend_ns;   /* request to the moment of sleep */
	uint64_t resume_ns;    /* wake to everything back */
	uint64_t asleep_ns;    /* the sleep itself (S3: firmware included) */
};

/* One full cycle; 0, or -1 with why (the system is then as before). */
int suspend_cycle(bool s3, char *why, size_t len, struct suspend_times *t);
/* The same with the debug page hash (include/vigil/page_snapshot.h): every
 * kernel page (all: every page of the allocator, free ones too) is hashed
 * just before the sleep and compared just after; each changed page is logged
 * with its owner.  *checked and *changed say how many pages were hashed and
 * differed. */
int suspend_cycle_hashed(bool s3, bool all, char *why, size_t len, struct suspend_times *t, unsigned *checked,
			 unsigned *changed);
unsigned long suspend_cycles(void);

void set_freezable(void);
/* A freezable task that returns must call this first. */
void freezer_exit(void);
/* Sleeps while the system is freezing; returns whether it did. */
bool try_to_freeze(void);
/* fn is called when freezing starts (after freezing() turns true): it
 * gets tasks that sleep elsewhere or run guest code to try_to_freeze().
 * 0, or -1 when every slot is taken. */
int freezer_register_kick(void (*fn)(void));
/* For stress and tests: is a suspend freezing tasks right now? */
bool freezing(void);

#endif

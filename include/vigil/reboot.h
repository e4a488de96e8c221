/*
 * Reboot notifiers: what must happen before the machine powers off or
 * restarts (modelled on Linux's register_reboot_notifier()).  Any subsystem
 * registers its own; `poweroff` and `reboot` (core/system_cmds.c) only walk
 * the list.  Higher priority runs first; equal priorities in registration
 * order.  Sleeping context: a callback may take locks (with a bound: a
 * reboot must not hang behind a stuck holder) and print.
 */
#ifndef VIGIL_REBOOT_H
#define VIGIL_REBOOT_H
#include <vigil/list.h>
#include <vigil/types.h>

struct reboot_notifier {
	const char *name;
	int priority;
	/* action: "poweroff" or "reboot", for the callback's messages. */
	void (*notify)(const char *action);
	struct list_head node;   /* the list's; zero it before registering */
};

/* 0, or -1 when nb is already registered. */
int register_reboot_notifier(struct reboot_notifier *nb);
void unregister_reboot_notifier(struct reboot_notifier *nb);
/* Call every notifier; returns how many were called. */
unsigned reboot_notify(const char *action);
#endif

/*
 * Syscore operations: the last things suspended and the first resumed, on
 * the boot CPU with interrupts off and every other CPU offline (modelled on
 * Linux's register_syscore_ops()).  Any subsystem registers its own; the
 * suspend cycle (core/power/suspend.c) only walks the list and never names
 * who is on it.
 *
 * Order: suspend runs the callbacks in reverse registration order and
 * resume in registration order, so what registered first is suspended last
 * and resumed first (a later registrant may depend on an earlier one).
 *
 * Registration sleeps (a mutex) and belongs to init or to a thread: never
 * while a suspend cycle runs, which freezes every task first.  The walks
 * take no lock: they run with interrupts off and no other CPU online.
 */
#ifndef VIGIL_SYSCORE_H
#define VIGIL_SYSCORE_H
#include <vigil/list.h>
#include <vigil/types.h>

struct syscore_ops {
	const char *name;
	void (*suspend)(void);   /* optional */
	void (*resume)(void);    /* optional */
	/* Optional, called after every resume callback ran, interrupts on:
	 * true and a message when this subsystem came back in a known
	 * degraded state the caller should report. */
	bool (*resume_problem)(char *why, size_t len);
	struct list_head node;   /* the list's; zero it before registering */
};

/* 0, or -1 when ops is already registered. */
int register_syscore_ops(struct syscore_ops *ops);
void unregister_syscore_ops(struct syscore_ops *ops);

/* The suspend cycle's walks (boot CPU, interrupts off, others offline). */
void syscore_suspend(void);
void syscore_resume(void);
/* After syscore_resume, interrupts on: the first problem a resume_problem
 * callback reports, in registration order; false when none. */
bool syscore_resume_problem(char *why, size_t len);
#endif

/*
 * The panic path's CPU stop (core/panic_stop.c): the first CPU to panic owns
 * the panic; every other online CPU is stopped with an NMI, leaves hardware
 * virtualization (emergency disable) and halts for good with interrupts off,
 * so that INIT and reset work on it again.  panic() (core/printk.c) drives it:
 *
 *     depth = panic_enter();          a CPU that lost the race stops in here
 *     ... message, backtrace ...
 *     if (panic_stop_other_cpus())    first time only: NMIs, own disable, wait
 *         panic_report_cpus();        one line per online CPU
 *     arch_poweroff(1);
 *
 * Nothing here takes a lock; the stopped CPUs print nothing (they may have
 * been stopped holding the console lock) and report through static arrays
 * that the panicking CPU prints afterwards.
 *
 * Host unit tests link core/printk.c without this (one process, nothing to
 * stop; host arch_poweroff(1) aborts), hence the inline versions.
 */
#ifndef VIGIL_PANIC_H
#define VIGIL_PANIC_H
#include <vigil/types.h>

#ifndef VIGIL_HOST
/* Claim the panic for this CPU.  Returns how many panics this CPU is now in
 * (1 for the first, 2 for a panic inside panic...).  When another CPU already
 * owns the panic, this CPU is stopped exactly as the NMI would stop it (it
 * may be in NMI context, where that NMI cannot reach it): no return. */
unsigned panic_enter(void);
/* The owner, once: NMI every other online CPU, emergency-disable this one,
 * wait (bounded) for the others.  false when it already ran (a nested
 * panic must not start it again). */
bool panic_stop_other_cpus(void);
/* The owner: one printk line per online CPU, saying how it stopped and what
 * its hardware said about virtualization afterwards. */
void panic_report_cpus(void);
/* A panic is under way (on any CPU). */
bool panic_in_progress(void);
/* This CPU owns the panic (the console lock is then advisory for it). */
bool panic_on_this_cpu(void);
/* The architecture calls this first in its NMI handler: when another CPU is
 * panicking it stops this one and does not return. */
void panic_nmi(void);
#else
static inline unsigned panic_enter(void) { return 1; }
static inline bool panic_stop_other_cpus(void) { return false; }
static inline void panic_report_cpus(void) { }
static inline bool panic_in_progress(void) { return false; }
static inline bool panic_on_this_cpu(void) { return false; }
#endif

/* Set by a caller that already printed registers and a backtrace, so that
 * panic() does not print them again (core/printk.c). */
extern bool panic_backtrace_done;
/* `crash panic ...`: the panic crash aids (core/crash_panic.c). */
struct shell_ctx;
int crash_panic(struct shell_ctx *ctx, int argc, char **argv);
#endif

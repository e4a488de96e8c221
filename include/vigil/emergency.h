/*
 * Emergency callbacks: what a CPU must undo before it is stopped for good
 * on panic (from the NMI the panicking CPU sends, or on the panicking CPU
 * itself) -- today, leaving virtualization so INIT and reset work again
 * (docs/design.md section 7).  Modelled on Linux's
 * cpu_emergency_register_virt_callback(): the panic path (core/panic_stop.c)
 * walks the table and never names who is on it.
 *
 * The walk runs in NMI context on any CPU, possibly while the interrupted
 * code was registering: it takes no lock and allocates nothing.  The table
 * is a fixed array of function pointers, each slot written with one atomic
 * store; unregistering clears the slot and then waits until no walk is in
 * progress, so a callback is never called after unregister returns (a walk
 * on a CPU stopped for good ends before the CPU halts, so the wait ends).
 * Callbacks obey the same rules: no locks, no printk, no allocation.
 */
#ifndef VIGIL_EMERGENCY_H
#define VIGIL_EMERGENCY_H
#include <vigil/types.h>

#define EMERGENCY_MAX_CALLBACKS 4

/* On the current CPU: 0 done (nothing of ours is left on), 1 still on
 * after trying (the hardware says so), -1 nothing to do here. */
typedef int (*emergency_fn)(void);

/* 0, or -1 when the table is full or fn is already in it. */
int register_emergency_callback(emergency_fn fn);
void unregister_emergency_callback(emergency_fn fn);
/* NMI-safe: call every registered callback on this CPU.  The worst answer:
 * 1 if any said still on, else 0 if any acted, else -1 (none did). */
int emergency_callbacks_run(void);
#endif

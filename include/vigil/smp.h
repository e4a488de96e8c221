/*
 * Cross-CPU function calls (core/smp/).  fn runs on the target CPU in
 * interrupt context (interrupts off); it must not sleep.
 *
 * Waiting calls must be made with interrupts enabled: two CPUs waiting on
 * each other with interrupts off would deadlock (checked, reported).
 */
#ifndef VIGIL_SMP_H
#define VIGIL_SMP_H
#include <vigil/types.h>

typedef void (*smp_call_fn)(void *arg);

/* Run fn(arg) on cpu; returns 0, or -1 when cpu is not online. */
int smp_call_function_single(unsigned cpu, smp_call_fn fn, void *arg, bool wait);
/* Run fn(arg) on every online CPU, the calling one included (there with
 * interrupts off).  wait: return only when all have run it (this cannot
 * fail for want of memory: it then calls one CPU at a time).  Returns 0, or
 * -1 when a waiting call is made with interrupts off or a non-waiting one
 * finds no memory for its entries; then no CPU runs fn. */
int on_each_cpu(smp_call_fn fn, void *arg, bool wait);

/* Called by the architecture. */
void smp_call_ipi(void);       /* IPI_CALL_FUNCTION arrived */
void nmi_handler(void);        /* an NMI arrived */
void vcpu_kick_ipi(void);      /* IPI_VCPU_KICK arrived (core/virt/vcpu_request.c) */

/* NMI callbacks (panic stop, emergency disable): return true if handled. */
typedef bool (*nmi_callback_fn)(void);
void nmi_register(nmi_callback_fn fn);
extern volatile uint64_t nmi_count[];
#endif

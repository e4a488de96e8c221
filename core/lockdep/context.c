/*
 * Context checks: might_sleep() and the interrupt/preemption assertions.
 * These look at the scheduler's view of the CPU (preempt_count, interrupt
 * flag, interrupt context) rather than at held locks, because the rule is
 * about context: holding a spinlock raises preempt_count, so sleeping under
 * one is caught here, and so is sleeping in an interrupt handler or with
 * interrupts disabled by hand.  Each check reports once per source line.
 */
#include <vigil/arch.h>
#include <vigil/lockdep.h>
#include <vigil/printk.h>
#include <vigil/sched.h>

#include "lockdep_internal.h"

struct cpu_context {
	bool irqs_off;
	unsigned preempt;
	bool irq;
};

static struct cpu_context snapshot(void)
{
	struct cpu_context c = {
		.irqs_off = !arch_irqs_enabled(),
		.preempt = preempt_count(),
		.irq = in_interrupt(),
	};
	return c;
}

static void report_context(const char *kind, const char *title, const char *site,
			   const struct cpu_context *ctx)
{
	struct lockdep_task *lt = lockdep_current();

	if (lt && lt->recursion)
		return;
	if (lt)
		lt->recursion++;
	char who[64];
	lockdep_describe_current(who, sizeof(who));
	unsigned long flags = lockdep_graph_lock();
	if (lockdep_site_first(kind, site)) {
		lockdep_report_begin(title);
		printk(LD_PREFIX "at %s, task %s\n", site ? site : "?", who);
		printk(LD_PREFIX "in_interrupt=%d irqs_disabled=%d preempt_count=%u\n", ctx->irq,
		       ctx->irqs_off, ctx->preempt);
		if (lt) {
			printk(LD_PREFIX "held locks:\n");
			lockdep_print_held(lt);
		}
		lockdep_report_end(kind, NULL, 0, site);
	}
	lockdep_graph_unlock(flags);
	if (lt)
		lt->recursion--;
}

void __might_sleep(const char *site)
{
	if (!lockdep_enabled())
		return;
	struct cpu_context ctx = snapshot();
	if (!ctx.irqs_off && !ctx.preempt && !ctx.irq)
		return;
	report_context("sleep-in-atomic", "BUG: sleeping function called from invalid context",
		       site, &ctx);
}

void lockdep_assert_irqs_disabled_at(const char *site)
{
	if (!lockdep_enabled())
		return;
	struct cpu_context ctx = snapshot();
	if (ctx.irqs_off)
		return;
	report_context("assert-irqs-disabled",
		       "WARNING: lockdep_assert_irqs_disabled failed: interrupts are enabled", site,
		       &ctx);
}

void lockdep_assert_preemption_disabled_at(const char *site)
{
	if (!lockdep_enabled())
		return;
	struct cpu_context ctx = snapshot();
	/* Interrupts off also keeps the task on this CPU. */
	if (ctx.preempt || ctx.irqs_off || ctx.irq)
		return;
	report_context("assert-preemption-disabled",
		       "WARNING: lockdep_assert_preemption_disabled failed: preemptible", site,
		       &ctx);
}

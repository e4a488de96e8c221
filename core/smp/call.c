/*
 * smp_call_function_single() and on_each_cpu(): each CPU has a queue of
 * pending calls; the caller queues an entry and sends IPI_CALL_FUNCTION; the
 * target runs its queue from the interrupt.  A waiting caller keeps the entry
 * on its own stack and spins, with interrupts on, until the target marks it
 * done; a non-waiting caller's entry is allocated and freed by the target.
 */
#include <vigil/arch.h>
#include <vigil/config.h>
#include <vigil/cpu.h>
#include <vigil/inject.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/smp.h>
#include <vigil/spinlock.h>

struct call_entry {
	smp_call_fn fn;
	void *arg;
	volatile bool done;
	bool allocated;
	struct call_entry *next;
};

/* The queue's lock is the bare ticket lock of include/vigil/spinlock.h, held
 * with interrupts off (the IPI handler takes it) for a few instructions:
 * with interrupts off nothing can preempt the holder, so raw_spin_lock()'s
 * preemption count would add nothing, and as a leaf that is never held
 * around another lock it has no order for lockdep to check. */
struct call_queue {
	raw_spinlock_t lock;
	struct call_entry *head, *tail;
};

static struct call_queue queues[CONFIG_MAX_CPUS];
volatile uint64_t nmi_count[CONFIG_MAX_CPUS];
static nmi_callback_fn nmi_callbacks[8];
static unsigned nr_nmi_callbacks;

static void queue_call(unsigned cpu, struct call_entry *e)
{
	struct call_queue *q = &queues[cpu];
	unsigned long flags = arch_irq_save();
	__raw_spin_lock(&q->lock);
	e->next = NULL;
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	__raw_spin_unlock(&q->lock);
	arch_irq_restore(flags);
	arch_send_ipi(cpu, IPI_CALL_FUNCTION);
}

void smp_call_ipi(void)
{
	struct call_queue *q = &queues[smp_processor_id()];
	for (;;) {
		__raw_spin_lock(&q->lock);
		struct call_entry *e = q->head;
		if (e) {
			q->head = e->next;
			if (!q->head)
				q->tail = NULL;
		}
		__raw_spin_unlock(&q->lock);
		if (!e)
			return;
		e->fn(e->arg);
		if (e->allocated)
			kfree(e);
		else
			__atomic_store_n(&e->done, true, __ATOMIC_RELEASE);
	}
}

static void wait_done(struct call_entry *e)
{
	while (!__atomic_load_n(&e->done, __ATOMIC_ACQUIRE))
		arch_cpu_relax();
}

static bool check_wait_context(const char *what)
{
	if (!arch_irqs_enabled()) {
		printk("BUG: %s waiting with interrupts disabled (would deadlock)\n", what);
		arch_dump_stack();
		return false;
	}
	return true;
}

int smp_call_function_single(unsigned cpu, smp_call_fn fn, void *arg, bool wait)
{
	if (!cpu_is_online(cpu))
		return -1;
	if (wait && !check_wait_context("smp_call_function_single"))
		return -1;
	preempt_disable();
	if (cpu == smp_processor_id()) {
		unsigned long flags = arch_irq_save();
		fn(arg);
		arch_irq_restore(flags);
		preempt_enable();
		return 0;
	}
	if (wait) {
		struct call_entry e = { .fn = fn, .arg = arg };
		queue_call(cpu, &e);
		wait_done(&e);
	} else {
		struct call_entry *e = kzalloc(sizeof(*e));
		if (!e) {
			preempt_enable();
			return -1;
		}
		e->fn = fn;
		e->arg = arg;
		e->allocated = true;
		queue_call(cpu, e);
	}
	preempt_enable();
	return 0;
}

INJECT_POINT(on_each_cpu_nomem, "on_each_cpu's allocation fails on the calling CPU");

static void *call_alloc(size_t size, unsigned self)
{
	if (inject_hit(&inject_on_each_cpu_nomem, self))
		return NULL;
	return kzalloc(size);
}

/*
 * Waiting: one entry per CPU, all queued before waiting.  Without memory for
 * them, one CPU at a time with the entry on the stack: slower, but a waiting
 * call cannot fail (its callers include the disables of reboot and of the
 * last VM going).  Not waiting: every entry is allocated before any is
 * queued, so without memory nothing runs anywhere and the caller is told.
 */
int on_each_cpu(smp_call_fn fn, void *arg, bool wait)
{
	if (wait && !check_wait_context("on_each_cpu"))
		return -1;
	preempt_disable();
	unsigned self = smp_processor_id();
	struct call_entry *entries = call_alloc(sizeof(*entries) * nr_possible_cpus, self);
	if (!entries && !wait) {
		preempt_enable();
		return -1;
	}
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		if (c == self || !cpu_is_online(c))
			continue;
		if (!entries) {
			struct call_entry e = { .fn = fn, .arg = arg };
			queue_call(c, &e);
			wait_done(&e);
			continue;
		}
		if (!wait) {
			struct call_entry *e = call_alloc(sizeof(*e), self);
			if (!e) {
				/* Nothing is queued yet: give back what we have. */
				for (unsigned d = 0; d < c; d++)
					if (entries[d].next)
						kfree(entries[d].next);
				kfree(entries);
				preempt_enable();
				return -1;
			}
			entries[c].next = e; /* kept until all are allocated */
			continue;
		}
		entries[c].fn = fn;
		entries[c].arg = arg;
		queue_call(c, &entries[c]);
	}
	if (entries && !wait) {
		for (unsigned c = 0; c < nr_possible_cpus; c++) {
			struct call_entry *e = entries[c].next;
			if (!e)
				continue;
			e->fn = fn;
			e->arg = arg;
			e->allocated = true;
			queue_call(c, e);
		}
	}
	unsigned long flags = arch_irq_save();
	fn(arg);
	arch_irq_restore(flags);
	if (entries && wait)
		for (unsigned c = 0; c < nr_possible_cpus; c++)
			if (entries[c].fn)
				wait_done(&entries[c]);
	kfree(entries);
	preempt_enable();
	return 0;
}

void nmi_register(nmi_callback_fn fn)
{
	if (nr_nmi_callbacks < ARRAY_SIZE(nmi_callbacks))
		nmi_callbacks[nr_nmi_callbacks++] = fn;
}

void nmi_handler(void)
{
	nmi_count[smp_processor_id()]++;
	for (unsigned i = 0; i < nr_nmi_callbacks; i++)
		if (nmi_callbacks[i]())
			return;
}

/*
 * Cross-CPU calls and CPU states for host tests: see host_smp.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/smp.h>

#include "host_sched.h"
#include "host_smp.h"

struct call {
	smp_call_fn fn;
	void *arg;
	unsigned caller;      /* the waiting caller's CPU: whose condition to signal */
	int done;             /* atomic; set by the CPU that ran fn */
	bool allocated;       /* non-waiting: the runner frees it */
	struct call *next;
};

struct hcpu {
	pthread_mutex_t mu;
	/* Signalled when a call is queued here, when a call made by a waiter on
	 * this CPU is done, and on stop: the worker and a waiting caller on
	 * this CPU both sleep on it. */
	pthread_cond_t cv;
	struct call *head, *tail;
	unsigned running;     /* calls dequeued and not finished (under mu) */
	bool accepting;       /* a worker is there to serve the queue */
	bool stop;
	struct task *worker;
	uint64_t calls;       /* atomic */
};

static struct hcpu hcpus[HOST_MAX_CPUS];
/* Readers: queueing a call to an online CPU (the check and the enqueue are
 * one step, as preempt_disable + stop_machine make them in the kernel).
 * Writer: a CPU changing state. */
static pthread_rwlock_t state_lock = PTHREAD_RWLOCK_INITIALIZER;
static __thread unsigned in_call;

static void smp_bug(const char *what)
{
	fprintf(stderr, "host_smp: %s\n", what);
	host_console_dump();
	abort();
}

__attribute__((constructor)) static void host_smp_init(void)
{
	for (unsigned c = 0; c < HOST_MAX_CPUS; c++) {
		pthread_mutex_init(&hcpus[c].mu, NULL);
		pthread_cond_init(&hcpus[c].cv, NULL);
	}
}

/* fn as the kernel runs it on a CPU: interrupts off, counted. */
static void run_fn(unsigned cpu, smp_call_fn fn, void *arg)
{
	__atomic_add_fetch(&hcpus[cpu].calls, 1, __ATOMIC_RELAXED);
	in_call++;
	fn(arg);
	in_call--;
}

static void mark_done(struct call *c)
{
	struct hcpu *w = &hcpus[c->caller];

	/* Under the waiter's mutex so its check-then-sleep cannot miss it;
	 * c may be gone as soon as done is visible, so it is not touched
	 * after the store. */
	pthread_mutex_lock(&w->mu);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* The IPI handler: run every call queued to cpu.  The current task is on
 * cpu; taking the CPU (host_irq_enter) before dequeuing matters: whoever
 * dequeues must be able to run the call, and a waiting caller that owns the
 * CPU can always dequeue, so an entry never sits in a worker blocked on a
 * CPU that its own caller holds. */
static void serve_queue(unsigned cpu)
{
	struct hcpu *h = &hcpus[cpu];

	host_irq_enter();
	unsigned long flags = arch_irq_save();
	if (smp_processor_id() != cpu)
		smp_bug("serving another CPU's queue");
	for (;;) {
		pthread_mutex_lock(&h->mu);
		struct call *c = h->head;
		if (c) {
			h->head = c->next;
			if (!h->head)
				h->tail = NULL;
			h->running++;
		}
		pthread_mutex_unlock(&h->mu);
		if (!c)
			break;
		run_fn(cpu, c->fn, c->arg);
		if (c->allocated)
			free(c);
		else
			mark_done(c);
		pthread_mutex_lock(&h->mu);
		h->running--;
		pthread_mutex_unlock(&h->mu);
	}
	arch_irq_restore(flags);
	host_irq_exit();
}

static void worker_fn(void *arg)
{
	unsigned cpu = (unsigned)(uintptr_t)arg;
	struct hcpu *h = &hcpus[cpu];

	for (;;) {
		pthread_mutex_lock(&h->mu);
		while (!h->head && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		bool stop = h->stop && !h->head;
		pthread_mutex_unlock(&h->mu);
		if (stop)
			return;
		serve_queue(cpu);
	}
}

/* 0, or -1 when cpu is not online (nothing queued). */
static int queue_call(unsigned cpu, struct call *c)
{
	struct hcpu *h = &hcpus[cpu];
	int r = -1;

	pthread_rwlock_rdlock(&state_lock);
	if (cpu_is_online(cpu)) {
		pthread_mutex_lock(&h->mu);
		if (h->accepting) {
			c->next = NULL;
			if (h->tail)
				h->tail->next = c;
			else
				h->head = c;
			h->tail = c;
			pthread_cond_broadcast(&h->cv);
			r = 0;
		}
		pthread_mutex_unlock(&h->mu);
	}
	pthread_rwlock_unlock(&state_lock);
	return r;
}

/* The caller is on self with preemption off and interrupts on: it serves
 * its own CPU's calls while it waits, as the real CPU takes IPIs while it
 * spins. */
static void wait_done(struct call *c, unsigned self)
{
	struct hcpu *h = &hcpus[self];

	for (;;) {
		pthread_mutex_lock(&h->mu);
		while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) && !h->head)
			pthread_cond_wait(&h->cv, &h->mu);
		bool done = __atomic_load_n(&c->done, __ATOMIC_ACQUIRE);
		pthread_mutex_unlock(&h->mu);
		if (done)
			return;
		serve_queue(self);
	}
}

static void run_here(smp_call_fn fn, void *arg)
{
	unsigned long flags = arch_irq_save();
	run_fn(smp_processor_id(), fn, arg);
	arch_irq_restore(flags);
}

/* Same rule and message as core/smp/call.c. */
static bool check_wait_context(const char *what)
{
	if (!arch_irqs_enabled()) {
		printk("BUG: %s waiting with interrupts disabled (would deadlock)\n", what);
		return false;
	}
	return true;
}

/* cpu_is_online() under the state lock: a caller need not hold the
 * CPU-hotplug lock, so a state change may race with it. */
static bool online_now(unsigned cpu)
{
	pthread_rwlock_rdlock(&state_lock);
	bool on = cpu_is_online(cpu);
	pthread_rwlock_unlock(&state_lock);
	return on;
}

int smp_call_function_single(unsigned cpu, smp_call_fn fn, void *arg, bool wait)
{
	if (!online_now(cpu))
		return -1;
	if (wait && !check_wait_context("smp_call_function_single"))
		return -1;
	preempt_disable();
	unsigned self = smp_processor_id();
	int r = 0;
	if (cpu == self) {
		run_here(fn, arg);
	} else if (wait) {
		struct call c = { .fn = fn, .arg = arg, .caller = self };
		r = queue_call(cpu, &c);
		if (r == 0)
			wait_done(&c, self);
	} else {
		struct call *c = calloc(1, sizeof(*c));
		if (!c)
			smp_bug("out of memory");
		c->fn = fn;
		c->arg = arg;
		c->allocated = true;
		r = queue_call(cpu, c);
		if (r != 0)
			free(c);
	}
	preempt_enable();
	return r;
}

int on_each_cpu(smp_call_fn fn, void *arg, bool wait)
{
	if (wait && !check_wait_context("on_each_cpu"))
		return -1;
	preempt_disable();
	unsigned self = smp_processor_id();
	unsigned n = nr_possible_cpus;
	struct call *calls = NULL;
	if (wait && !(calls = calloc(n, sizeof(*calls))))
		smp_bug("out of memory");
	for (unsigned c = 0; c < n; c++) {
		if (c == self)
			continue;
		if (calls) {
			calls[c] = (struct call){ .fn = fn, .arg = arg, .caller = self };
			if (queue_call(c, &calls[c]) != 0)
				calls[c].fn = NULL;   /* offline: not waited for */
		} else {
			smp_call_function_single(c, fn, arg, false);
		}
	}
	/* Like the kernel, the calling CPU runs fn too, interrupts off. */
	run_here(fn, arg);
	if (calls) {
		for (unsigned c = 0; c < n; c++)
			if (calls[c].fn)
				wait_done(&calls[c], self);
		free(calls);
	}
	preempt_enable();
	return 0;
}

/* ---- CPUs ---- */

void host_smp_start(unsigned possible, unsigned online)
{
	if (possible == 0 || possible > HOST_MAX_CPUS || online == 0 || online > possible)
		smp_bug("host_smp_start: bad CPU counts");
	for (unsigned c = 0; c < HOST_MAX_CPUS; c++)
		if (hcpus[c].accepting)
			smp_bug("host_smp_start: workers already running (host_smp_stop first)");
	if (in_atomic())
		smp_bug("host_smp_start: not preemptible");
	nr_possible_cpus = 0;
	memset(cpu_table, 0, sizeof(cpu_table));
	cpu_set_limit(CONFIG_MAX_CPUS);
	for (unsigned c = 0; c < possible; c++)
		if (cpu_register(c, c < online ? CPU_ONLINE : CPU_OFFLINE) != (int)c)
			smp_bug("host_smp_start: cpu_register refused a CPU");
	for (unsigned c = 0; c < possible; c++) {
		struct hcpu *h = &hcpus[c];
		char name[16];
		pthread_mutex_lock(&h->mu);
		h->head = h->tail = NULL;
		h->running = 0;
		h->stop = false;
		h->accepting = true;
		__atomic_store_n(&h->calls, 0, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&h->mu);
		snprintf(name, sizeof(name), "ipi/%u", c);
		h->worker = host_task_spawn(worker_fn, (void *)(uintptr_t)c, c, name);
	}
}

static bool cpu_idle(unsigned cpu)
{
	struct hcpu *h = &hcpus[cpu];
	pthread_mutex_lock(&h->mu);
	bool idle = !h->head && !h->running;
	pthread_mutex_unlock(&h->mu);
	return idle;
}

void host_smp_quiesce(void)
{
	for (unsigned c = 0; c < HOST_MAX_CPUS; c++)
		while (!cpu_idle(c))
			host_msleep(1);
}

void host_smp_stop(void)
{
	host_smp_quiesce();
	for (unsigned c = 0; c < HOST_MAX_CPUS; c++) {
		struct hcpu *h = &hcpus[c];
		pthread_mutex_lock(&h->mu);
		bool had = h->accepting;
		h->accepting = false;
		h->stop = true;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		if (had)
			host_task_join(h->worker);
		h->worker = NULL;
	}
}

static void set_state(unsigned cpu, enum cpu_state s)
{
	if (cpu >= nr_possible_cpus)
		smp_bug("no such CPU");
	if (in_atomic())
		smp_bug("CPU state change while not preemptible");
	pthread_rwlock_wrlock(&state_lock);
	cpu_table[cpu].state = s;
	pthread_rwlock_unlock(&state_lock);
}

void host_cpu_online(unsigned cpu)
{
	set_state(cpu, CPU_ONLINE);
}

void host_cpu_offline(unsigned cpu)
{
	set_state(cpu, CPU_OFFLINE);
	/* Nothing can be queued here any more; what was, runs here first. */
	while (!cpu_idle(cpu))
		host_msleep(1);
}

unsigned host_cpus_online(void)
{
	pthread_rwlock_rdlock(&state_lock);
	unsigned n = cpu_count_in_state(CPU_ONLINE);
	pthread_rwlock_unlock(&state_lock);
	return n;
}

uint64_t host_smp_calls(unsigned cpu)
{
	return cpu < HOST_MAX_CPUS ? __atomic_load_n(&hcpus[cpu].calls, __ATOMIC_RELAXED) : 0;
}

bool host_smp_in_call(void)
{
	return in_call > 0;
}

/*
 * Host tasks, CPUs and arch hooks for tests: see host_sched.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vigil/arch.h>
#include <vigil/atomic.h>
#include <vigil/lockdep.h>
#include <vigil/sched.h>

#include "host_sched.h"

struct task {
	int state;                 /* enum task_state; atomic */
	pthread_mutex_t mu;        /* guards the sleep/wake hand-shake */
	pthread_cond_t cv;
	int sleeping;              /* atomic: inside schedule()'s wait */
	unsigned long sleeps;      /* atomic */

	/* Touched only by the task itself. */
	unsigned preempt;          /* preempt_disable() depth */
	bool irqs_off;
	unsigned irq_depth;        /* fake interrupt nesting */
	unsigned owns_cpu;         /* preempt + irqs_off + irq_depth: >0 = owns cpu_mutex[cpu] */
	unsigned cpu;

	char name[32];
	unsigned id;
	struct lockdep_task lockdep;

	pthread_t thread;
	host_task_fn fn;
	void *arg;
	struct task *all_next;     /* every task ever made, freed at exit */
};

static pthread_mutex_t cpu_mutex[HOST_MAX_CPUS];
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct task *all_tasks;
static unsigned next_id = 1;
static __thread struct task *current;
static struct timespec t0;

static void host_bug(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void host_bug(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "host_sched: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	host_console_dump();
	abort();
}

static void free_tasks(void)
{
	pthread_mutex_lock(&registry_mu);
	while (all_tasks) {
		struct task *t = all_tasks;
		all_tasks = t->all_next;
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
		free(t);
	}
	pthread_mutex_unlock(&registry_mu);
}

__attribute__((constructor)) static void host_sched_init(void)
{
	for (unsigned i = 0; i < HOST_MAX_CPUS; i++)
		pthread_mutex_init(&cpu_mutex[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atexit(free_tasks);
}

static struct task *task_new(const char *name, unsigned cpu)
{
	struct task *t = calloc(1, sizeof(*t));

	if (!t)
		host_bug("out of memory");
	if (cpu >= HOST_MAX_CPUS)
		host_bug("cpu %u out of range (HOST_MAX_CPUS %u)", cpu, HOST_MAX_CPUS);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->state = TASK_RUNNING;
	t->cpu = cpu;
	snprintf(t->name, sizeof(t->name), "%s", name);
	lockdep_task_init(&t->lockdep);
	pthread_mutex_lock(&registry_mu);
	t->id = next_id++;
	t->all_next = all_tasks;
	all_tasks = t;
	pthread_mutex_unlock(&registry_mu);
	return t;
}

struct task *current_task(void)
{
	if (!current)
		current = task_new("main", 0);
	return current;
}

const char *task_name(const struct task *t)
{
	return t->name;
}

unsigned task_id(const struct task *t)
{
	return t->id;
}

struct lockdep_task *lockdep_current(void)
{
	return &current_task()->lockdep;
}

/* ---- tasks ---- */

static void *task_main(void *p)
{
	struct task *t = p;

	current = t;
	t->fn(t->arg);
	if (t->owns_cpu)
		host_bug("task %s exits non-preemptible (preempt=%u irqs_off=%d)", t->name,
			 t->preempt, t->irqs_off);
	lockdep_task_exit(&t->lockdep);
	__atomic_store_n(&t->state, TASK_DEAD, __ATOMIC_SEQ_CST);
	return NULL;
}

struct task *host_task_spawn(host_task_fn fn, void *arg, unsigned cpu, const char *name)
{
	struct task *t = task_new(name, cpu);

	t->fn = fn;
	t->arg = arg;
	if (pthread_create(&t->thread, NULL, task_main, t))
		host_bug("pthread_create failed");
	return t;
}

void host_task_join(struct task *t)
{
	pthread_join(t->thread, NULL);
}

void host_task_set_cpu(unsigned cpu)
{
	struct task *t = current_task();

	if (t->owns_cpu)
		host_bug("host_task_set_cpu while not preemptible");
	if (cpu >= HOST_MAX_CPUS)
		host_bug("cpu %u out of range", cpu);
	t->cpu = cpu;
}

bool host_task_sleeping(const struct task *t)
{
	return __atomic_load_n(&t->sleeping, __ATOMIC_SEQ_CST);
}

unsigned long host_task_sleeps(const struct task *t)
{
	return __atomic_load_n(&t->sleeps, __ATOMIC_SEQ_CST);
}

void host_msleep(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void host_yield(void)
{
	sched_yield();
}

void host_watchdog(unsigned seconds)
{
	alarm(seconds);
}

void host_wait_until_sleeping(const struct task *t)
{
	for (unsigned i = 0; i < 10000; i++) {
		if (host_task_sleeping(t))
			return;
		host_msleep(1);
	}
	host_bug("task %s never went to sleep", t->name);
}

/* ---- the CPU: preemption and interrupts ---- */

static void own_cpu(struct task *t)
{
	if (t->owns_cpu++ == 0)
		pthread_mutex_lock(&cpu_mutex[t->cpu]);
}

static void release_cpu(struct task *t)
{
	if (t->owns_cpu == 0)
		host_bug("task %s: unbalanced preemption/interrupt state", t->name);
	if (--t->owns_cpu == 0)
		pthread_mutex_unlock(&cpu_mutex[t->cpu]);
}

void preempt_disable(void)
{
	struct task *t = current_task();

	own_cpu(t);
	t->preempt++;
}

void preempt_enable(void)
{
	struct task *t = current_task();

	if (!t->preempt)
		host_bug("task %s: preempt_enable without preempt_disable", t->name);
	t->preempt--;
	release_cpu(t);
}

unsigned preempt_count(void)
{
	return current_task()->preempt;
}

bool in_interrupt(void)
{
	return current_task()->irq_depth > 0;
}

bool in_atomic(void)
{
	return current_task()->owns_cpu > 0;
}

bool need_resched(void)
{
	return false; /* host threads are preempted by the host */
}

unsigned smp_processor_id(void)
{
	return current_task()->cpu;
}

void host_irq_enter(void)
{
	struct task *t = current_task();

	own_cpu(t);
	t->irq_depth++;
}

void host_irq_exit(void)
{
	struct task *t = current_task();

	if (!t->irq_depth)
		host_bug("host_irq_exit without host_irq_enter");
	t->irq_depth--;
	release_cpu(t);
}

unsigned long arch_irq_save(void)
{
	struct task *t = current_task();
	unsigned long was_on = !t->irqs_off;

	if (was_on) {
		own_cpu(t);
		t->irqs_off = true;
	}
	return was_on;
}

void arch_irq_restore(unsigned long flags)
{
	struct task *t = current_task();

	if (flags && t->irqs_off) {
		t->irqs_off = false;
		release_cpu(t);
	} else if (!flags && !t->irqs_off) {
		own_cpu(t);
		t->irqs_off = true;
	}
}

bool arch_irqs_enabled(void)
{
	return !current_task()->irqs_off;
}

void arch_cpu_relax(void)
{
	/* The lock holder may be a thread waiting for this core (2-core CI). */
	sched_yield();
}

/* ---- sleeping and waking ---- */

void set_current_state(enum task_state s)
{
	__atomic_store_n(&current_task()->state, s, __ATOMIC_SEQ_CST);
	smp_mb();
}

void __set_current_state(enum task_state s)
{
	__atomic_store_n(&current_task()->state, s, __ATOMIC_RELAXED);
}

void schedule(void)
{
	struct task *t = current_task();

	if (t->owns_cpu)
		host_bug("BUG: scheduling while atomic: task %s preempt=%u irqs_off=%d irq=%u",
			 t->name, t->preempt, t->irqs_off, t->irq_depth);
	pthread_mutex_lock(&t->mu);
	while (__atomic_load_n(&t->state, __ATOMIC_SEQ_CST) == TASK_BLOCKED) {
		__atomic_store_n(&t->sleeping, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&t->sleeps, 1, __ATOMIC_SEQ_CST);
		pthread_cond_wait(&t->cv, &t->mu);
		__atomic_store_n(&t->sleeping, 0, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&t->mu);
}

void wake_up_task(struct task *t)
{
	pthread_mutex_lock(&t->mu);
	int blocked = TASK_BLOCKED;
	if (__atomic_compare_exchange_n(&t->state, &blocked, TASK_RUNNING, false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* ---- time, console, stopping ---- */

uint64_t arch_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)(ts.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)ts.tv_nsec -
	       (uint64_t)t0.tv_nsec;
}

static pthread_mutex_t console_mu = PTHREAD_MUTEX_INITIALIZER;
static char *console_buf;
static size_t console_len, console_cap;

void arch_console_write(const char *s, size_t n)
{
	static int verbose = -1;

	pthread_mutex_lock(&console_mu);
	if (verbose < 0)
		verbose = getenv("VIGIL_TEST_VERBOSE") != NULL;
	if (console_len + n + 1 > console_cap) {
		size_t cap = console_cap ? console_cap : 65536;
		while (console_len + n + 1 > cap)
			cap *= 2;
		char *b = realloc(console_buf, cap);
		if (!b) {
			pthread_mutex_unlock(&console_mu);
			return;
		}
		console_buf = b;
		console_cap = cap;
	}
	memcpy(console_buf + console_len, s, n);
	console_len += n;
	console_buf[console_len] = '\0';
	if (verbose)
		fwrite(s, 1, n, stdout);
	pthread_mutex_unlock(&console_mu);
}

int arch_console_getc(void)
{
	return -1;
}

void host_console_clear(void)
{
	pthread_mutex_lock(&console_mu);
	console_len = 0;
	if (console_buf)
		console_buf[0] = '\0';
	pthread_mutex_unlock(&console_mu);
}

unsigned host_console_count(const char *s)
{
	unsigned n = 0;

	pthread_mutex_lock(&console_mu);
	for (const char *p = console_buf; p && *s && (p = strstr(p, s)); p += strlen(s))
		n++;
	pthread_mutex_unlock(&console_mu);
	return n;
}

char *host_console_text(void)
{
	pthread_mutex_lock(&console_mu);
	char *copy = strdup(console_buf ? console_buf : "");
	pthread_mutex_unlock(&console_mu);
	return copy;
}

void host_console_dump(void)
{
	pthread_mutex_lock(&console_mu);
	if (console_buf && console_len) {
		fputs("---- console ----\n", stdout);
		fwrite(console_buf, 1, console_len, stdout);
		fputs("---- end ----\n", stdout);
		fflush(stdout);
	}
	pthread_mutex_unlock(&console_mu);
}

void arch_idle(void)
{
	sched_yield();
}

void arch_dump_stack(void)
{
	/* Host: the sanitizer's abort report carries the backtrace. */
}

void arch_poweroff(int status)
{
	host_console_dump();
	fprintf(stderr, "host_sched: arch_poweroff(%d)\n", status);
	if (status)
		abort();
	exit(0);
}

void arch_reboot(void)
{
	host_bug("arch_reboot");
}

void arch_idle_forever(void)
{
	host_bug("arch_idle_forever");
}

int host_teardown_no_violations(void **state)
{
	(void)state;
	struct lockdep_stats st;
	lockdep_get_stats(&st);
	if (st.violations)
		host_console_dump();
	assert_int_equal(st.violations, 0);
	return 0;
}

/* Host tasks have no hung-task detector: the note is accepted and dropped. */
void sched_wait_note(const char *what, const char *how)
{
	(void)what;
	(void)how;
}

/*
 * struct task: a kernel thread.  Visible to core/ (the scheduler, lockdep,
 * kthreads); everything else goes through include/vigil/sched.h.
 */
#ifndef VIGIL_TASK_H
#define VIGIL_TASK_H
#include <vigil/lockdep.h>
#include <vigil/sched.h>
#include <vigil/types.h>

#define TASK_NAME_LEN 24
#define TASK_STACK_ORDER 2            /* 16 KiB kernel stacks */
#define TASK_ANY_CPU (-1)

struct task {
	uint64_t arch_sp;              /* saved stack pointer (arch_switch_to) */
	volatile enum task_state state;
	unsigned id;
	char name[TASK_NAME_LEN];
	unsigned cpu;                  /* run queue it is on, or CPU it runs on */
	int bound_cpu;                 /* TASK_ANY_CPU: free to migrate */
	unsigned preempt_count;        /* travels with the task */
	bool on_rq;
	volatile bool migrating;       /* between run queues: the mover will queue it */
	volatile bool on_cpu;          /* some CPU runs it or is still switching away from it */
	void *enqueued_from;           /* last rq_enqueue caller (hang reports) */
	unsigned enqueued_on_cpu;      /* ... and the CPU it ran on */
	bool need_resched;
	bool is_idle;
	bool frozen_ok;                /* may be frozen for suspend */
	bool percpu_thread;            /* belongs to its CPU: never moved off it (cpuhp/<n>) */
	struct task *rq_next;          /* run-queue link */
	struct task *all_next;         /* list of every task */
	uint64_t slice_start_ns;
	uint64_t switches;             /* times switched in */
	uint64_t migrations;
	void (*fn)(void *arg);
	void *arg;
	uint64_t stack_phys;           /* 0 for tasks on a boot stack */
	void *stack_base;              /* its lowest address as mapped, above an unmapped guard page */
	bool stack_overflow_seen;      /* reported once */
	volatile bool exited;
	struct task *joiner;
	struct lockdep_task lockdep;   /* held locks, owned by lockdep */
	/* sched_wait_note(): what it sleeps for, since when (hung-task detector) */
	const char *volatile wait_what;
	const char *volatile wait_how;
	volatile uint64_t wait_since_ns;
	uint64_t wait_reported_since;  /* the wait_since_ns already reported */
};

/* Create a kernel thread running fn(arg); cpu = TASK_ANY_CPU or a CPU to bind
 * it to.  It starts runnable.  Returns NULL when out of memory. */
struct task *kthread_run(void (*fn)(void *), void *arg, int cpu, const char *name);
/* A thread that belongs to one CPU (like cpuhp/<n>): while that CPU goes
 * offline it keeps running there until it sleeps, instead of being moved,
 * and it runs there again once the CPU is back. */
struct task *kthread_run_percpu(void (*fn)(void *), void *arg, unsigned cpu, const char *name);
/* Wait for t to return from its function, then free it. */
void kthread_join(struct task *t);
/* Move a task (bound or not) to cpu; the current task moves itself too. */
int sched_migrate(struct task *t, unsigned cpu);
/* Bind (cpu >= 0) or unbind (TASK_ANY_CPU) the current task. */
void sched_bind_current(int cpu);
/* Bind the current task to cpu, moving it there; returns its previous
 * binding, which sched_bind_current() puts back. */
int sched_pin_current(unsigned cpu);
/* Voluntary yield. */
void yield(void);
/* Sleep for at least ns (timer-tick granularity). */
void sleep_ns(uint64_t ns);

/* Called by the architecture. */
void sched_init_boot_cpu(void);           /* boot CPU: current context becomes the "main" task */
__noreturn void sched_start_ap(unsigned cpu); /* AP: current context becomes its idle task */
void sched_tick(void);                     /* timer interrupt, every CPU */
void sched_ipi(void);                      /* reschedule IPI */
bool sched_should_preempt(void);           /* on interrupt return */
void sched_preempt_irq(void);              /* called with interrupts off on return to preemptible code */
unsigned sched_nr_running(unsigned cpu);
/* What the scheduler believes, one line per CPU and per task (hang reports). */
void sched_dump(void);
/* When addr lies in the guard page below a task's stack: "task '<name>'/<id>"
 * in buf.  Lockless: for the fault path. */
bool sched_describe_guard_page(uint64_t addr, char *buf, size_t len);
/* Bytes of t's stack ever used (0 for a task on a boot stack). */
size_t sched_task_stack_used(const struct task *t);
void sched_for_each_task(void (*fn)(struct task *t, void *arg), void *arg);
/* When phys lies in a task's stack: "stack of task '<name>'/<id> (...)" in buf. */
bool sched_describe_stack_page(uint64_t phys, char *buf, size_t len);

#endif

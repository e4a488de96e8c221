/*
 * The hung-task detector (include/vigil/hung_task.h) and the console command
 * `hungtask <ms>|off`.
 *
 * A sleeping primitive notes what its task is about to sleep for
 * (sched_wait_note()), with the time; the detector walks the task list and
 * reports a task that is TASK_BLOCKED on a noted wait older than the limit.
 * The notes are plain stores read racily by the detector: a report may come
 * from a wait that ended a moment ago, never miss one that lasts.  Each wait
 * is reported once (keyed by its start time), so a deadlock prints one line
 * per stuck task, not one per pass.
 */
#include <vigil/arch.h>
#include <vigil/hung_task.h>
#include <vigil/mutex.h>
#include <vigil/printk.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/task.h>

#define HUNG_MAX 32  /* tasks reported by one pass; more are counted */

void sched_wait_note(const char *what, const char *how)
{
	struct task *t = current_task();

	if (!t)
		return;
	if (what) {
		t->wait_since_ns = arch_time_ns();
		t->wait_how = how;
	}
	__atomic_store_n(&t->wait_what, what, __ATOMIC_RELEASE);
}

static DEFINE_MUTEX(scan_mutex);  /* the scan buffer, one pass at a time */
static struct hung_task_report found[HUNG_MAX];

struct scan {
	uint64_t now, limit;
	bool only_new;
	unsigned n, more;
};

/* Under the task list's lock (interrupts off): copy, report later. */
static void look(struct task *t, void *arg)
{
	struct scan *sc = arg;
	const char *what = __atomic_load_n(&t->wait_what, __ATOMIC_ACQUIRE);

	if (!what || t->state != TASK_BLOCKED)
		return;
	uint64_t since = t->wait_since_ns;
	if (sc->now < since || sc->now - since < sc->limit)
		return;
	if (sc->only_new) {
		if (t->wait_reported_since == since)
			return;
		t->wait_reported_since = since;
	}
	if (sc->n >= HUNG_MAX) {
		sc->more++;
		return;
	}
	struct hung_task_report *r = &found[sc->n++];
	r->id = t->id;
	strlcpy(r->name, t->name, sizeof(r->name));
	r->what = what;
	r->how = t->wait_how ? t->wait_how : "?";
	r->blocked_ns = sc->now - since;
}

unsigned hung_task_scan(uint64_t limit_ns, bool only_new, void (*fn)(const struct hung_task_report *r, void *arg),
			void *arg)
{
	struct scan sc = { .now = arch_time_ns(), .limit = limit_ns, .only_new = only_new };

	mutex_lock(&scan_mutex);
	sched_for_each_task(look, &sc);
	for (unsigned i = 0; i < sc.n; i++)
		fn(&found[i], arg);
	mutex_unlock(&scan_mutex);
	return sc.n + sc.more;
}

/* ---- khungtaskd ---- */

static DEFINE_MUTEX(cmd_mutex);        /* `hungtask` commands, one at a time */
static struct task *checker;
static volatile uint64_t limit_ns;     /* 0: stop */
static unsigned long reports;

unsigned long hung_task_reports(void)
{
	return __atomic_load_n(&reports, __ATOMIC_RELAXED);
}

static void print_report(const struct hung_task_report *r, void *arg)
{
	(void)arg;
	__atomic_add_fetch(&reports, 1, __ATOMIC_RELAXED);
	printk("hungtask: task '%s'/%u blocked for %lu ms on %s (%s)\n", r->name, r->id,
	       (unsigned long)(r->blocked_ns / 1000000), r->what, r->how);
}

static void checker_fn(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t lim = __atomic_load_n(&limit_ns, __ATOMIC_ACQUIRE);
		if (!lim)
			return;
		/* Half the limit (a wait is reported at most 1.5 limits after
		 * it began), but never long, so that `hungtask off` is quick. */
		sleep_ns(lim / 2 < 50000000 ? lim / 2 : 50000000);
		lim = __atomic_load_n(&limit_ns, __ATOMIC_ACQUIRE);
		if (lim)
			hung_task_scan(lim, true, print_report, NULL);
	}
}

static int cmd_hungtask(struct shell_ctx *ctx, int argc, char **argv)
{
	uint64_t ms = 0;

	if (argc == 1) {
		uint64_t lim = __atomic_load_n(&limit_ns, __ATOMIC_ACQUIRE);
		shell_printf(ctx, "hungtask=%s limit_ms=%lu reports=%lu\n", lim ? "on" : "off",
			     (unsigned long)(lim / 1000000), hung_task_reports());
		return 0;
	}
	if (strcmp(argv[1], "off") != 0 &&
	    shell_arg_u64_range(ctx, argv[1], "limit in ms", 10, 3600000, &ms) < 0)
		return -1;
	mutex_lock(&cmd_mutex);
	__atomic_store_n(&limit_ns, ms * 1000000, __ATOMIC_RELEASE);
	if (!ms && checker) {
		kthread_join(checker);  /* it sees limit 0 after its sleep */
		checker = NULL;
	} else if (ms && !checker) {
		checker = kthread_run(checker_fn, NULL, TASK_ANY_CPU, "khungtaskd");
		if (!checker) {
			__atomic_store_n(&limit_ns, 0, __ATOMIC_RELEASE);
			mutex_unlock(&cmd_mutex);
			return shell_error(ctx, "out of memory: cannot start khungtaskd");
		}
	}
	mutex_unlock(&cmd_mutex);
	shell_printf(ctx, "hungtask=%s limit_ms=%lu\n", ms ? "on" : "off", (unsigned long)ms);
	return 0;
}

SHELL_CMD(hungtask, "hungtask [<ms>|off]", .run = cmd_hungtask, .max_args = 1,
	  .help = "Report tasks blocked on a lock or slot swap for longer than <ms> (10..3600000), "
		  "naming what they wait for; off stops the checker; no argument shows the state.");

/*
 * Kernel self-tests of the locking primitives, on real CPUs with the real
 * scheduler (timer preemption, migration): the host tests in tests/unit
 * cover the semantics in detail; these check that the same code holds up
 * under the kernel's scheduler, which the host model cannot reproduce.
 *
 * A lost wake-up shows up as a hang.  So the test task never blocks on its
 * workers: it polls for them with a deadline and, if they are stuck, fails
 * naming what did not finish (the stuck tasks are left behind: the state
 * they wait on is static and stays valid, and the test refuses to run again).
 *
 * lockdep_planted plants an AB-BA pair inside an expect window and checks
 * that lockdep sees it on every run, without counting it as a violation.
 */
#include <vigil/atomic.h>
#include <vigil/completion.h>
#include <vigil/cpu.h>
#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/arch.h>
#include <vigil/printk.h>
#include <vigil/percpu_rwsem.h>
#include <vigil/rwsem.h>
#include <vigil/sched.h>
#include <vigil/selftest.h>
#include <vigil/task.h>

/* A hang is no progress at all for this long.  Not a deadline on the whole
 * test: under TCG with more vCPUs than host cores a vCPU holding (or next in
 * line for) a ticket lock is often descheduled by the host, and the test
 * then takes minutes instead of seconds while still making progress. */
#define NO_PROGRESS_NS (30ULL * 1000000000ULL)
#define MAX_WORKERS 8
/* Critical sections per task.  Each task migrates every 16 iterations while
 * holding the lock; under TCG a migration costs milliseconds, which is what
 * bounds the run time (about 600 x 8 sections take 5-40 s at 8-16 vCPUs). */
#define STRESS_ITERS 600

static bool stuck;   /* a previous run left tasks behind */

static unsigned online_cpus(unsigned *list, unsigned max)
{
	unsigned n = 0;

	for (unsigned c = 0; c < nr_possible_cpus && n < max; c++)
		if (cpu_is_online(c))
			list[n++] = c;
	return n;
}

/* ---- shared by the workers ---- */

struct worker {
	unsigned id;
	unsigned iters;
	unsigned cpus[MAX_WORKERS];
	unsigned ncpus;
	unsigned progress;   /* iterations done */
	struct task *task;
};

static atomic_t done_count;
static unsigned long st_ball;
static struct worker workers[MAX_WORKERS];
static unsigned nr_started;

static unsigned long total_progress(void)
{
	unsigned long sum = 0;
	for (unsigned i = 0; i < nr_started; i++)
		sum += READ_ONCE(workers[i].progress);
	return sum + READ_ONCE(st_ball);
}

static uint64_t wait_started_ns, wait_took_ns;

static bool wait_all(unsigned nr)
{
	uint64_t last_change = arch_time_ns();
	unsigned long last = total_progress();

	wait_started_ns = last_change;
	while ((unsigned)atomic_read_acquire(&done_count) < nr) {
		uint64_t now = arch_time_ns();
		unsigned long p = total_progress();
		if (p != last) {
			last = p;
			last_change = now;
		} else if (now - last_change > NO_PROGRESS_NS) {
			stuck = true;
			return false;
		}
		sleep_ns(1000000);
	}
	wait_took_ns = arch_time_ns() - wait_started_ns;
	return true;
}

static unsigned start_workers(const char *name, void (*fn)(void *), unsigned nr, unsigned iters)
{
	unsigned cpus[MAX_WORKERS];
	unsigned ncpus = online_cpus(cpus, MAX_WORKERS);

	atomic_set(&done_count, 0);
	nr_started = 0;
	for (unsigned i = 0; i < nr; i++) {
		struct worker *w = &workers[i];
		w->id = i;
		w->iters = iters;
		w->ncpus = ncpus;
		w->progress = 0;
		for (unsigned c = 0; c < ncpus; c++)
			w->cpus[c] = cpus[c];
		w->task = kthread_run(fn, w, TASK_ANY_CPU, name);
		if (!w->task)
			break;
		nr_started++;
	}
	return nr_started;
}

static DECLARE_RWSEM(st_rwsem);

/* Where each worker is stuck: the evidence for a lost wake-up. */
static void note_workers(struct selftest_ctx *ctx)
{
	arch_backtrace_all_cpus();
	sched_dump();
	printk("st_rwsem: count=%ld wait_lock next=%u owner=%u holder=%s\n", (long)st_rwsem.count,
	       st_rwsem.wait_lock.next, st_rwsem.wait_lock.owner,
	       st_rwsem.wait_lock.holder ? task_name(st_rwsem.wait_lock.holder) : "-");
	for (unsigned i = 0; i < nr_started; i++) {
		struct worker *w = &workers[i];
		struct task *t = w->task;
		st_note(ctx, "worker %u: %u/%u done, state=%d cpu=%u on_rq=%d preempt_count=%u", i,
			READ_ONCE(w->progress), w->iters, (int)t->state, t->cpu, t->on_rq,
			t->preempt_count);
	}
}

static void worker_done(void)
{
	atomic_inc_return(&done_count);
}

static unsigned nr_workers(void)
{
	unsigned cpus[MAX_WORKERS];
	unsigned n = online_cpus(cpus, MAX_WORKERS) * 2;

	return n < 4 ? 4 : (n > MAX_WORKERS ? MAX_WORKERS : n);
}

/* Move to another online CPU now and then, to mix migration into the
 * critical sections. */
static void maybe_migrate(struct worker *w, unsigned i)
{
	if (w->ncpus > 1 && (i % 16) == 0)
		sched_migrate(current_task(), w->cpus[(w->id + i / 16) % w->ncpus]);
}

/* ---- mutex ---- */

static DEFINE_MUTEX(st_mutex);
static unsigned long st_counter;

static void mutex_worker(void *arg)
{
	struct worker *w = arg;

	for (unsigned i = 0; i < w->iters; i++) {
		mutex_lock(&st_mutex);
		unsigned long c = st_counter;
		maybe_migrate(w, i);   /* sleep-capable section: may move */
		st_counter = c + 1;
		WRITE_ONCE(w->progress, i + 1);
		mutex_unlock(&st_mutex);
	}
	worker_done();
}

static int test_sync_mutex(struct selftest_ctx *ctx)
{
	if (stuck)
		return st_fail(ctx, "an earlier run left tasks hanging; reboot to rerun");
	unsigned nr = nr_workers(), iters = STRESS_ITERS;
	st_counter = 0;
	unsigned started = start_workers("st-mutex", mutex_worker, nr, iters);
	if (!wait_all(started)) {
		note_workers(ctx);
		st_note(ctx, "mutex owner: %s", mutex_owner(&st_mutex) ?
			task_name(mutex_owner(&st_mutex)) : "none");
		return st_fail(ctx, "%u of %u mutex workers made no progress for 30 s (lost wake-up?)",
			       started - (unsigned)atomic_read(&done_count), started);
	}
	ST_ASSERT(ctx, started == nr, "out of memory");
	mutex_lock(&st_mutex);
	unsigned long got = st_counter;
	mutex_unlock(&st_mutex);
	ST_ASSERT(ctx, got == (unsigned long)nr * iters, "counter %lu, expected %lu", got,
		  (unsigned long)nr * iters);
	st_note(ctx, "%u tasks x %u lock/unlock in %lu ms", nr, iters, (unsigned long)(wait_took_ns / 1000000));
	return 0;
}
SELFTEST(sync_mutex, test_sync_mutex);

/* ---- rw-semaphore and per-CPU rw-semaphore ---- */

static DEFINE_PERCPU_RWSEM(st_pcpu);
static unsigned long st_a, st_b;
static atomic_t st_torn;

static void rw_worker(void *arg)
{
	struct worker *w = arg;
	bool writer = w->id < 2;

	for (unsigned i = 0; i < w->iters; i++) {
		if (writer) {
			down_write(&st_rwsem);
			st_a++;
			maybe_migrate(w, i);
			st_b++;
			up_write(&st_rwsem);
		} else {
			down_read(&st_rwsem);
			if (READ_ONCE(st_a) != READ_ONCE(st_b))
				atomic_set(&st_torn, 1);
			maybe_migrate(w, i);
			up_read(&st_rwsem);
		}
		WRITE_ONCE(w->progress, i + 1);
	}
	worker_done();
}

static void pcpu_worker(void *arg)
{
	struct worker *w = arg;
	bool writer = w->id < 2;

	for (unsigned i = 0; i < w->iters; i++) {
		if (writer) {
			if (i % 8)
				continue;   /* writers are rare, as for CPU hotplug */
			percpu_down_write(&st_pcpu);
			st_a++;
			maybe_migrate(w, i);
			st_b++;
			percpu_up_write(&st_pcpu);
		} else {
			percpu_down_read(&st_pcpu);
			if (READ_ONCE(st_a) != READ_ONCE(st_b))
				atomic_set(&st_torn, 1);
			maybe_migrate(w, i);   /* unlock on another CPU */
			percpu_up_read(&st_pcpu);
		}
		WRITE_ONCE(w->progress, i + 1);
	}
	worker_done();
}

static int rw_test(struct selftest_ctx *ctx, const char *name, void (*fn)(void *),
		   unsigned long expect_writes_per_writer)
{
	if (stuck)
		return st_fail(ctx, "an earlier run left tasks hanging; reboot to rerun");
	unsigned nr = nr_workers(), iters = STRESS_ITERS;
	st_a = st_b = 0;
	atomic_set(&st_torn, 0);
	unsigned started = start_workers(name, fn, nr, iters);
	if (!wait_all(started)) {
		note_workers(ctx);
		return st_fail(ctx, "%u of %u %s workers made no progress for 30 s (lost wake-up?)",
			       started - (unsigned)atomic_read(&done_count), started, name);
	}
	ST_ASSERT(ctx, started == nr, "out of memory");
	ST_ASSERT(ctx, !atomic_read(&st_torn), "a reader saw a writer's half-done update");
	ST_ASSERT(ctx, st_a == st_b && st_a == 2 * expect_writes_per_writer,
		  "writes a=%lu b=%lu, expected %lu", st_a, st_b, 2 * expect_writes_per_writer);
	st_note(ctx, "%u tasks (2 writers) x %u in %lu ms", nr, iters, (unsigned long)(wait_took_ns / 1000000));
	return 0;
}

static int test_sync_rwsem(struct selftest_ctx *ctx)
{
	return rw_test(ctx, "st-rwsem", rw_worker, STRESS_ITERS);
}
SELFTEST(sync_rwsem, test_sync_rwsem);

static int test_sync_percpu_rwsem(struct selftest_ctx *ctx)
{
	int r = rw_test(ctx, "st-pcpu", pcpu_worker, STRESS_ITERS / 8);
	long readers = percpu_rwsem_readers(&st_pcpu);

	ST_ASSERT(ctx, r == 0 || readers == 0, "reader count %ld after the run", readers);
	return r;
}
SELFTEST(sync_percpu_rwsem, test_sync_percpu_rwsem);

/* ---- completions and wait queues: ping-pong across CPUs ---- */

#define ROUNDS 5000  /* ~15 s under a loaded TCG host; the deadline is 60 s */
static DECLARE_COMPLETION(st_ping);
static DECLARE_COMPLETION(st_pong);

static void ponger(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < ROUNDS; i++) {
		wait_for_completion(&st_ping);
		st_ball++;
		complete(&st_pong);
	}
	worker_done();
}

static void pinger(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < ROUNDS; i++) {
		st_ball++;
		complete(&st_ping);
		wait_for_completion(&st_pong);
	}
	worker_done();
}

static int test_sync_completion(struct selftest_ctx *ctx)
{
	if (stuck)
		return st_fail(ctx, "an earlier run left tasks hanging; reboot to rerun");
	unsigned cpus[2];
	unsigned n = online_cpus(cpus, 2);
	reinit_completion(&st_ping);
	reinit_completion(&st_pong);
	st_ball = 0;
	atomic_set(&done_count, 0);
	nr_started = 0; /* progress is the ball (see total_progress) */
	struct task *a = kthread_run(ponger, NULL, (int)cpus[n - 1], "st-pong");
	struct task *b = kthread_run(pinger, NULL, (int)cpus[0], "st-ping");
	ST_ASSERT(ctx, a && b, "out of memory");
	if (!wait_all(2))
		return st_fail(ctx, "ping-pong stuck at ball=%lu of %u for 30 s (lost wake-up?)",
			       st_ball, 2 * ROUNDS);
	kthread_join(a);
	kthread_join(b);
	ST_ASSERT(ctx, st_ball == 2UL * ROUNDS, "ball=%lu, expected %u", st_ball, 2 * ROUNDS);
	st_note(ctx, "%u round trips between CPU %u and CPU %u", ROUNDS, cpus[0], cpus[n - 1]);
	return 0;
}
SELFTEST(sync_completion, test_sync_completion);

/* ---- lockdep sees a planted AB-BA every time ---- */

static DEFINE_MUTEX(st_plant_a);
static DEFINE_MUTEX(st_plant_b);

static void plant_ab(void *arg)
{
	(void)arg;
	mutex_lock(&st_plant_a);
	mutex_lock(&st_plant_b);
	mutex_unlock(&st_plant_b);
	mutex_unlock(&st_plant_a);
}

static void plant_ba(void *arg)
{
	(void)arg;
	mutex_lock(&st_plant_b);
	mutex_lock(&st_plant_a);
	mutex_unlock(&st_plant_a);
	mutex_unlock(&st_plant_b);
}

static int test_lockdep_planted(struct selftest_ctx *ctx)
{
	if (!lockdep_enabled()) {
		st_note(ctx, "lockdep is off: nothing to check");
		return 0;
	}
	struct lockdep_stats before, after;
	lockdep_get_stats(&before);

	lockdep_expect_begin();
	struct task *t = kthread_run(plant_ab, NULL, TASK_ANY_CPU, "st-plant-ab");
	if (t)
		kthread_join(t);
	t = kthread_run(plant_ba, NULL, TASK_ANY_CPU, "st-plant-ba");
	if (t)
		kthread_join(t);
	unsigned cycles = lockdep_expect_end();

	lockdep_expect_begin();
	preempt_disable();
	might_sleep();
	preempt_enable();
	unsigned sleeps = lockdep_expect_end();

	lockdep_get_stats(&after);
	ST_ASSERT(ctx, t, "out of memory");
	ST_ASSERT(ctx, cycles == 1, "planted AB-BA: %u reports, expected 1", cycles);
	ST_ASSERT(ctx, sleeps == 1, "might_sleep with preemption off: %u reports, expected 1", sleeps);
	ST_ASSERT(ctx, after.violations == before.violations,
		  "planted reports counted as violations (%u -> %u)", before.violations,
		  after.violations);
	return 0;
}
SELFTEST(lockdep_planted, test_lockdep_planted);

/* Self-tests of the scheduler: preemption, migration, wake-ups, sleeping. */
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/selftest.h>
#include <vigil/task.h>

#define SECOND_NS 1000000000ULL

static unsigned test_cpu(void)
{
	/* A CPU other than the console's when there is one. */
	for (unsigned c = nr_possible_cpus; c-- > 1;)
		if (cpu_is_online(c))
			return c;
	return 0;
}

struct spinner {
	volatile uint64_t count;
	volatile uint64_t *other;
	volatile bool saw_other;
};

static void spin_fn(void *arg)
{
	struct spinner *s = arg;
	uint64_t start = arch_time_ns();
	uint64_t other0 = *s->other;
	/* Never yields: the only way the other task runs on this CPU is that the
	 * timer preempts us. */
	while (arch_time_ns() - start < 3 * SECOND_NS) {
		s->count++;
		if (*s->other != other0 && s->count > 1000) {
			s->saw_other = true;
			break;
		}
	}
	/* Keep counting briefly so the other side sees us too. */
	uint64_t until = arch_time_ns() + 30000000ULL;
	while (arch_time_ns() < until)
		s->count++;
}

static int test_sched_preemption(struct selftest_ctx *ctx)
{
	unsigned cpu = test_cpu();
	struct spinner a = { 0 }, b = { 0 };
	a.other = &b.count;
	b.other = &a.count;
	struct task *ta = kthread_run(spin_fn, &a, (int)cpu, "spin-a");
	struct task *tb = kthread_run(spin_fn, &b, (int)cpu, "spin-b");
	ST_ASSERT(ctx, ta && tb, "out of memory");
	kthread_join(ta);
	kthread_join(tb);
	st_note(ctx, "cpu=%u a=%lu b=%lu", cpu, (unsigned long)a.count, (unsigned long)b.count);
	ST_ASSERT(ctx, a.saw_other && b.saw_other,
		  "two CPU-bound tasks on CPU %u did not interleave (a saw b: %d, b saw a: %d)", cpu, a.saw_other,
		  b.saw_other);
	return 0;
}
SELFTEST(sched_preemption, test_sched_preemption);

struct migrate_result {
	unsigned visited, wrong_cpu, expected, got;
};

static void migrate_fn(void *arg)
{
	struct migrate_result *r = arg;
	for (int round = 0; round < 3; round++) {
		for (unsigned c = 0; c < nr_possible_cpus; c++) {
			if (!cpu_is_online(c))
				continue;
			sched_migrate(current_task(), c);
			unsigned now = smp_processor_id();
			r->visited++;
			if (now != c) {
				r->wrong_cpu++;
				r->expected = c;
				r->got = now;
			}
		}
	}
	sched_bind_current(TASK_ANY_CPU);
}

static int test_sched_migration(struct selftest_ctx *ctx)
{
	struct migrate_result r = { 0 };
	struct task *t = kthread_run(migrate_fn, &r, TASK_ANY_CPU, "migrator");
	ST_ASSERT(ctx, t, "out of memory");
	kthread_join(t);
	unsigned online = cpu_count_in_state(CPU_ONLINE);
	ST_ASSERT(ctx, r.visited == 3 * online, "visited %u CPU slots, expected %u", r.visited, 3 * online);
	ST_ASSERT(ctx, r.wrong_cpu == 0, "%u migrations landed on the wrong CPU (wanted %u, on %u)", r.wrong_cpu,
		  r.expected, r.got);
	return 0;
}
SELFTEST(sched_migration, test_sched_migration);

/* Ping-pong between two tasks on different CPUs with the
 * set_current_state()/schedule()/wake_up_task() pattern: a lost wake-up
 * shows as a stall. */
struct pingpong {
	struct task *peer[2];
	volatile unsigned turn;
	volatile unsigned done[2];
	unsigned rounds;
};

static void pingpong_side(struct pingpong *p, unsigned me)
{
	while (!__atomic_load_n(&p->peer[1 - me], __ATOMIC_ACQUIRE))
		yield();
	for (unsigned i = 0; i < p->rounds; i++) {
		for (;;) {
			set_current_state(TASK_BLOCKED);
			if (__atomic_load_n(&p->turn, __ATOMIC_ACQUIRE) == me)
				break;
			schedule();
		}
		__set_current_state(TASK_RUNNING);
		p->done[me]++;
		__atomic_store_n(&p->turn, 1 - me, __ATOMIC_RELEASE);
		wake_up_task(p->peer[1 - me]);
	}
}

static void ping_fn(void *arg) { pingpong_side(arg, 0); }
static void pong_fn(void *arg) { pingpong_side(arg, 1); }

static int test_sched_wakeup(struct selftest_ctx *ctx)
{
	static struct pingpong p;
	p = (struct pingpong){ .rounds = 2000 };
	unsigned other = test_cpu();
	struct task *a = kthread_run(ping_fn, &p, 0, "ping");
	struct task *b = kthread_run(pong_fn, &p, (int)other, "pong");
	ST_ASSERT(ctx, a && b, "out of memory");
	__atomic_store_n(&p.peer[0], a, __ATOMIC_RELEASE);
	__atomic_store_n(&p.peer[1], b, __ATOMIC_RELEASE);
	uint64_t deadline = arch_time_ns() + 20 * SECOND_NS;
	while ((p.done[0] < p.rounds || p.done[1] < p.rounds) && arch_time_ns() < deadline)
		sleep_ns(1000000);
	if (p.done[0] < p.rounds || p.done[1] < p.rounds)
		return st_fail(ctx, "ping-pong stalled at %u/%u rounds: a wake-up was lost", p.done[0], p.done[1]);
	kthread_join(a);
	kthread_join(b);
	return 0;
}
SELFTEST(sched_wakeup, test_sched_wakeup);

static int test_sched_sleep(struct selftest_ctx *ctx)
{
	uint64_t t0 = arch_time_ns();
	sleep_ns(20000000ULL);
	uint64_t dt = arch_time_ns() - t0;
	ST_ASSERT(ctx, dt >= 20000000ULL, "sleep_ns(20 ms) returned after %lu ns", (unsigned long)dt);
	return 0;
}
SELFTEST(sched_sleep, test_sched_sleep);

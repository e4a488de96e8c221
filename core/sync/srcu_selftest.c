/*
 * Kernel self-tests of SRCU (core/sync/srcu.c) on real CPUs with the real
 * scheduler; tests/unit/test_srcu.c covers the same under host threads.
 *
 *   srcu_sleeping_readers  readers on every online CPU enter, sleep (and
 *                          migrate) inside their sections; a grace period
 *                          started while they are all inside returns only
 *                          after each has left.  Normal and expedited.
 *   srcu_reader_holds_gp   a reader inside holds a grace period up for as
 *                          long as it stays (the updater is checked to be
 *                          still waiting while the reader is inside), and
 *                          the same with the reader's CPU taken offline
 *                          meanwhile: its count on the offline CPU is still
 *                          summed, the unlock lands on another CPU.
 *   srcu_published_pointer readers on every CPU dereference a published
 *                          object and check it is not poisoned while the
 *                          updater swaps, synchronizes and poisons.
 *   srcu_lockdep           synchronize_srcu() inside a read section of the
 *                          same domain is reported (inside an expect window)
 *                          -- and really waits for itself: a helper task
 *                          ends the reader's count so the test can go on.
 *
 * No assertion is on time: where a test checks that an updater is still
 * waiting, it is because a reader is provably inside, however long it has
 * been.  Hangs are bounded: waits poll with a deadline and fail naming what
 * did not finish (the stuck tasks are left behind and the test refuses to
 * run again).
 */
#include <vigil/arch.h>
#include <vigil/atomic.h>
#include <vigil/completion.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/lockdep.h>
#include <vigil/sched.h>
#include <vigil/selftest.h>
#include <vigil/srcu.h>
#include <vigil/task.h>

#define SRCU_ST_MAX_READERS 8
#define SRCU_ST_DEADLINE_NS (60ULL * 1000000000ULL)
#define MS 1000000ULL

static bool stuck;

static unsigned online_cpus(unsigned *list, unsigned max)
{
	unsigned n = 0;

	for (unsigned c = 0; c < nr_possible_cpus && n < max; c++)
		if (cpu_is_online(c))
			list[n++] = c;
	return n;
}

/* Poll *v until it reaches want, sleeping 1 ms between looks; false after
 * the deadline (and the test then refuses to run again). */
static bool wait_count(const int *v, int want)
{
	uint64_t until = arch_time_ns() + SRCU_ST_DEADLINE_NS;

	while (__atomic_load_n(v, __ATOMIC_ACQUIRE) < want) {
		if (arch_time_ns() > until) {
			stuck = true;
			return false;
		}
		sleep_ns(MS);
	}
	return true;
}

/* ---- readers sleeping inside while a grace period runs ---- */

static DEFINE_SRCU(st_srcu);

struct sleepy {
	unsigned id;
	unsigned cpus[SRCU_ST_MAX_READERS];
	unsigned ncpus;
	unsigned rounds;
};

static struct sleepy sleepies[SRCU_ST_MAX_READERS];
static int sl_round;                        /* the round readers may enter */
static int sl_inside;                       /* readers inside this round */
static int sl_left[SRCU_ST_MAX_READERS];    /* last round each reader left */
static int sl_done;

static void sleepy_reader(void *arg)
{
	struct sleepy *r = arg;

	for (int round = 1; round <= (int)r->rounds; round++) {
		while (__atomic_load_n(&sl_round, __ATOMIC_ACQUIRE) < round)
			sleep_ns(MS);
		int idx = srcu_read_lock(&st_srcu);
		__atomic_add_fetch(&sl_inside, 1, __ATOMIC_SEQ_CST);
		sleep_ns(10 * MS);                  /* asleep inside the section */
		if (r->ncpus > 1)                   /* and moved, still inside */
			sched_migrate(current_task(), r->cpus[(r->id + (unsigned)round) % r->ncpus]);
		sleep_ns(5 * MS);
		__atomic_store_n(&sl_left[r->id], round, __ATOMIC_RELEASE);
		srcu_read_unlock(&st_srcu, idx);
	}
	__atomic_add_fetch(&sl_done, 1, __ATOMIC_SEQ_CST);
}

#define SL_ROUNDS 6

static int test_sleeping_readers(struct selftest_ctx *ctx)
{
	if (stuck)
		return st_fail(ctx, "an earlier run left tasks hanging; reboot to rerun");
	unsigned cpus[SRCU_ST_MAX_READERS];
	unsigned ncpus = online_cpus(cpus, SRCU_ST_MAX_READERS);
	unsigned nr = ncpus < 2 ? 2 : ncpus;

	__atomic_store_n(&sl_round, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sl_done, 0, __ATOMIC_SEQ_CST);
	struct task *t[SRCU_ST_MAX_READERS];
	for (unsigned i = 0; i < nr; i++) {
		struct sleepy *r = &sleepies[i];
		r->id = i;
		r->ncpus = ncpus;
		r->rounds = SL_ROUNDS;
		for (unsigned c = 0; c < ncpus; c++)
			r->cpus[c] = cpus[c];
		sl_left[i] = 0;
		t[i] = kthread_run(sleepy_reader, r, (int)cpus[i % ncpus], "st-srcu-reader");
		if (!t[i]) {
			__atomic_store_n(&sl_round, SL_ROUNDS, __ATOMIC_SEQ_CST);
			for (unsigned j = 0; j < i; j++)
				kthread_join(t[j]);
			return st_fail(ctx, "out of memory");
		}
	}
	unsigned long sleeps0 = st_srcu.gp_sleeps;
	uint64_t gp_ns[2] = { 0, 0 };
	for (int round = 1; round <= SL_ROUNDS; round++) {
		bool expedited = round & 1;
		__atomic_store_n(&sl_inside, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sl_round, round, __ATOMIC_RELEASE);
		if (!wait_count(&sl_inside, (int)nr))
			return st_fail(ctx, "round %d: only %d of %u readers entered in 60 s", round,
				       __atomic_load_n(&sl_inside, __ATOMIC_SEQ_CST), nr);
		/* Every reader is inside now: the grace period must outlast all. */
		uint64_t t0 = arch_time_ns();
		if (expedited)
			synchronize_srcu_expedited(&st_srcu);
		else
			synchronize_srcu(&st_srcu);
		gp_ns[expedited] += arch_time_ns() - t0;
		for (unsigned i = 0; i < nr; i++) {
			int left = __atomic_load_n(&sl_left[i], __ATOMIC_ACQUIRE);
			ST_ASSERT(ctx, left == round,
				  "round %d (%s): the grace period ended with reader %u still inside "
				  "(it last left round %d)", round, expedited ? "expedited" : "normal",
				  i, left);
		}
	}
	if (!wait_count(&sl_done, (int)nr))
		return st_fail(ctx, "readers did not finish in 60 s");
	for (unsigned i = 0; i < nr; i++)
		kthread_join(t[i]);
	ST_ASSERT(ctx, srcu_readers_active(&st_srcu) == 0, "%lu readers counted after the run",
		  srcu_readers_active(&st_srcu));
	st_note(ctx, "%u readers on %u CPUs x %u rounds; mean grace period %lu us normal, %lu us "
		"expedited (readers sleep 15 ms inside); updater slept %lu times", nr, ncpus,
		SL_ROUNDS, (unsigned long)(gp_ns[0] / (SL_ROUNDS / 2) / 1000),
		(unsigned long)(gp_ns[1] / (SL_ROUNDS / 2) / 1000),
		st_srcu.gp_sleeps - sleeps0);
	return 0;
}
SELFTEST(srcu_sleeping_readers, test_sleeping_readers);

/* ---- one reader holds a grace period up, across CPU hotplug too ---- */

static DEFINE_SRCU(hold_srcu);
static DECLARE_COMPLETION(hold_release);
static DECLARE_COMPLETION(hold_inside);
static int hold_lock_cpu, hold_unlock_cpu;
static int hold_left, hold_done, hold_stamp;

static void holder(void *arg)
{
	unsigned cpu = (unsigned)(uintptr_t)arg;

	sched_migrate(current_task(), cpu);
	sched_bind_current(TASK_ANY_CPU);   /* free to be pushed off a dying CPU */
	int idx = srcu_read_lock(&hold_srcu);
	__atomic_store_n(&hold_lock_cpu, (int)smp_processor_id(), __ATOMIC_SEQ_CST);
	complete(&hold_inside);
	wait_for_completion(&hold_release);
	__atomic_store_n(&hold_unlock_cpu, (int)smp_processor_id(), __ATOMIC_SEQ_CST);
	__atomic_store_n(&hold_left, __atomic_add_fetch(&hold_stamp, 1, __ATOMIC_SEQ_CST),
			 __ATOMIC_SEQ_CST);
	srcu_read_unlock(&hold_srcu, idx);
}

static void hold_updater(void *arg)
{
	bool expedited = arg != NULL;

	if (expedited)
		synchronize_srcu_expedited(&hold_srcu);
	else
		synchronize_srcu(&hold_srcu);
	__atomic_store_n(&hold_done, __atomic_add_fetch(&hold_stamp, 1, __ATOMIC_SEQ_CST),
			 __ATOMIC_SEQ_CST);
}

/* offline: take the reader's CPU offline while it is inside. */
static int hold_round(struct selftest_ctx *ctx, unsigned cpu, bool expedited, bool offline)
{
	char why[WHY_MAX];

	reinit_completion(&hold_release);
	reinit_completion(&hold_inside);
	hold_left = hold_done = 0;
	hold_lock_cpu = hold_unlock_cpu = -1;
	struct task *r = kthread_run(holder, (void *)(uintptr_t)cpu, TASK_ANY_CPU, "st-srcu-holder");
	ST_ASSERT(ctx, r, "out of memory");
	wait_for_completion(&hold_inside);
	bool went_down = false;
	if (offline) {
		went_down = cpu_down(cpu, why, sizeof(why)) == 0;
		if (!went_down) {
			complete(&hold_release);
			kthread_join(r);
			return st_fail(ctx, "cpu_down(%u): %s", cpu, why);
		}
	}
	struct task *u = kthread_run(hold_updater, expedited ? (void *)1 : NULL, TASK_ANY_CPU,
				     "st-srcu-updater");
	if (!u) {
		complete(&hold_release);
		kthread_join(r);
		return st_fail(ctx, "out of memory");
	}
	/* Let the updater flip and scan a few times; it must still wait. */
	sleep_ns(50 * MS);
	int done_early = __atomic_load_n(&hold_done, __ATOMIC_SEQ_CST);
	complete(&hold_release);
	kthread_join(r);
	kthread_join(u);
	bool back = !went_down || cpu_up(cpu, why, sizeof(why)) == 0;
	ST_ASSERT(ctx, !done_early, "%s grace period ended while a reader that began before it "
		  "was still inside%s", expedited ? "an expedited" : "a normal",
		  offline ? " (its CPU offline)" : "");
	ST_ASSERT(ctx, hold_left < hold_done, "the grace period ended before the reader left");
	ST_ASSERT(ctx, hold_lock_cpu == (int)cpu, "the reader locked on CPU %d, not %u",
		  hold_lock_cpu, cpu);
	ST_ASSERT(ctx, !offline || hold_unlock_cpu != (int)cpu,
		  "the reader unlocked on CPU %d, which was offline", hold_unlock_cpu);
	ST_ASSERT(ctx, back, "cpu_up(%u) afterwards: %s", cpu, why);
	ST_ASSERT(ctx, srcu_readers_active(&hold_srcu) == 0, "%lu readers counted after the round",
		  srcu_readers_active(&hold_srcu));
	return 0;
}

static int test_reader_holds_gp(struct selftest_ctx *ctx)
{
	unsigned self = smp_processor_id();
	int other = cpu_other_online(self);
	unsigned cpu = other < 0 ? self : (unsigned)other;

	if (hold_round(ctx, cpu, false, false) || hold_round(ctx, cpu, true, false))
		return -1;
	if (other < 0 || (unsigned)other == 0)
		return st_skip(ctx, "one CPU: no CPU to take offline under the reader");
	if (hold_round(ctx, cpu, false, true) || hold_round(ctx, cpu, true, true))
		return -1;
	st_note(ctx, "reader on CPU %u held normal and expedited grace periods, also with CPU %u "
		"offline (unlocked on CPU %d)", cpu, cpu, hold_unlock_cpu);
	return 0;
}
SELFTEST(srcu_reader_holds_gp, test_reader_holds_gp);

/* ---- published pointer ---- */

#define PP_OBJS 200
#define PP_POISON 0xdeadbeefUL

struct pp_obj {
	unsigned long value;   /* 2 * id + 1 while published or in use, then poison */
	unsigned long id;
};

static struct pp_obj pp_objs[PP_OBJS];
static struct pp_obj *pp_published;
static DEFINE_SRCU(pp_srcu);
static int pp_stop, pp_readers_done;
static unsigned long pp_poison, pp_bad, pp_reads;

static void pp_reader(void *arg)
{
	struct sleepy *r = arg;

	for (unsigned i = 0; !__atomic_load_n(&pp_stop, __ATOMIC_ACQUIRE); i++) {
		int idx = srcu_read_lock(&pp_srcu);
		struct pp_obj *p = srcu_dereference(pp_published, &pp_srcu);
		unsigned long v = READ_ONCE(p->value);
		if ((i & 31) == 0)
			sleep_ns(MS / 2);   /* sleep inside */
		if ((i & 127) == 0 && r->ncpus > 1)
			sched_migrate(current_task(), r->cpus[(r->id + i / 128) % r->ncpus]);
		unsigned long v2 = READ_ONCE(p->value), id = READ_ONCE(p->id);
		srcu_read_unlock(&pp_srcu, idx);
		if (v == PP_POISON || v2 == PP_POISON)
			__atomic_add_fetch(&pp_poison, 1, __ATOMIC_RELAXED);
		else if (v != 2 * id + 1 || v2 != v)
			__atomic_add_fetch(&pp_bad, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&pp_reads, 1, __ATOMIC_RELAXED);
		if ((i & 7) == 0)
			yield();
	}
	__atomic_add_fetch(&pp_readers_done, 1, __ATOMIC_SEQ_CST);
}

static int test_published_pointer(struct selftest_ctx *ctx)
{
	if (stuck)
		return st_fail(ctx, "an earlier run left tasks hanging; reboot to rerun");
	unsigned cpus[SRCU_ST_MAX_READERS];
	unsigned ncpus = online_cpus(cpus, SRCU_ST_MAX_READERS);
	struct task *t[SRCU_ST_MAX_READERS];

	pp_objs[0].id = 0;
	pp_objs[0].value = 1;
	srcu_assign_pointer(pp_published, &pp_objs[0]);
	pp_stop = pp_readers_done = 0;
	pp_poison = pp_bad = pp_reads = 0;
	unsigned nr = 0;
	for (; nr < ncpus; nr++) {
		struct sleepy *r = &sleepies[nr];
		r->id = nr;
		r->ncpus = ncpus;
		for (unsigned c = 0; c < ncpus; c++)
			r->cpus[c] = cpus[c];
		t[nr] = kthread_run(pp_reader, r, (int)cpus[nr], "st-srcu-pp");
		if (!t[nr])
			break;
	}
	uint64_t t0 = arch_time_ns();
	for (unsigned n = 1; n < PP_OBJS && nr; n++) {
		struct pp_obj *fresh = &pp_objs[n], *old = pp_published;
		fresh->id = n;
		fresh->value = 2 * n + 1;
		srcu_assign_pointer(pp_published, fresh);
		if (n & 1)
			synchronize_srcu(&pp_srcu);
		else
			synchronize_srcu_expedited(&pp_srcu);
		WRITE_ONCE(old->value, PP_POISON);
	}
	uint64_t took = arch_time_ns() - t0;
	__atomic_store_n(&pp_stop, 1, __ATOMIC_RELEASE);
	if (!wait_count(&pp_readers_done, (int)nr))
		return st_fail(ctx, "readers did not stop in 60 s");
	for (unsigned i = 0; i < nr; i++)
		kthread_join(t[i]);
	ST_ASSERT(ctx, nr == ncpus, "out of memory");
	ST_ASSERT(ctx, pp_poison == 0, "readers saw a poisoned (retired) object %lu times",
		  pp_poison);
	ST_ASSERT(ctx, pp_bad == 0, "readers saw a torn object %lu times", pp_bad);
	ST_ASSERT(ctx, pp_reads > 0, "no read section ran");
	st_note(ctx, "%u readers, %lu read sections, %u grace periods in %lu ms", nr, pp_reads,
		PP_OBJS - 1, (unsigned long)(took / MS));
	return 0;
}
SELFTEST(srcu_published_pointer, test_published_pointer);

/* ---- lockdep: synchronize inside its own read section ---- */

static DEFINE_SRCU(st_self_srcu);
static int self_idx;
static unsigned self_expected_before;
static int self_unblocked;

/* Ends the stuck reader's count (the lockdep-free half) once lockdep has
 * reported, so the grace period that waits for its own task can finish. */
static void unblocker(void *arg)
{
	(void)arg;
	uint64_t until = arch_time_ns() + 10000ULL * MS;
	struct lockdep_stats st;

	do {
		lockdep_get_stats(&st);
		if (st.expected > self_expected_before)
			break;
		sleep_ns(MS);
	} while (arch_time_ns() < until);
	__srcu_read_unlock(&st_self_srcu, self_idx);
	__atomic_store_n(&self_unblocked, 1, __ATOMIC_SEQ_CST);
}

static int test_srcu_lockdep(struct selftest_ctx *ctx)
{
	if (!lockdep_enabled())
		return st_skip(ctx, "lockdep is off");
	struct lockdep_stats before, after;

	lockdep_get_stats(&before);
	self_expected_before = before.expected;
	self_unblocked = 0;
	lockdep_expect_begin();
	self_idx = srcu_read_lock(&st_self_srcu);
	struct task *t = kthread_run(unblocker, NULL, TASK_ANY_CPU, "st-srcu-unblock");
	if (!t) {
		srcu_read_unlock(&st_self_srcu, self_idx);
		lockdep_expect_end();
		return st_fail(ctx, "out of memory");
	}
	synchronize_srcu(&st_self_srcu);   /* reported; waits for the unblocker */
	kthread_join(t);
	/* The count is gone; drop lockdep's record of the section. */
	lock_release(&st_self_srcu.dep_map, LOCKDEP_SITE, 0);
	unsigned reports = lockdep_expect_end();
	lockdep_get_stats(&after);

	ST_ASSERT(ctx, reports == 1, "synchronize_srcu inside its own read section: %u reports, "
		  "expected 1", reports);
	ST_ASSERT(ctx, after.violations == before.violations,
		  "the planted report was counted as a violation (%u -> %u)", before.violations,
		  after.violations);
	ST_ASSERT(ctx, srcu_readers_active(&st_self_srcu) == 0, "reader count %lu afterwards",
		  srcu_readers_active(&st_self_srcu));
	st_note(ctx, "reported, and the grace period waited for its own task until the helper "
		"ended the section");
	return 0;
}
SELFTEST(srcu_lockdep, test_srcu_lockdep);

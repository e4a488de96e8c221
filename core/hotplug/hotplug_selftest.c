/*
 * Kernel self-test of the CPU-hotplug state machine on real CPUs: the host
 * tests (tests/unit/test_cpuhp.c) cover the walk in detail on fake CPUs;
 * this checks that the same walk holds with the real bring-up
 * (INIT-SIPI-SIPI), the real dying CPU (idle task, interrupts off, park) and
 * the real per-CPU hotplug threads.
 *
 * cpuhp_states registers a STARTING state and two ONLINE states that count
 * their calls per CPU and stamp each call with a global sequence number,
 * then takes the last online CPU down and up again and checks each callback
 * ran exactly once there, in the right order; then makes the second ONLINE
 * state fail on that CPU and checks the online is vetoed with every step
 * already done rolled back.  Whatever happens, the CPU ends online and the
 * states are removed.
 */
#include <vigil/atomic.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/printk.h>
#include <vigil/selftest.h>
#include <vigil/string.h>

enum { EV_S_UP, EV_S_DOWN, EV_A_UP, EV_A_DOWN, EV_B_UP, EV_B_DOWN, EV_B_FAIL, NR_EV };

/* Written by callbacks on the CPU concerned (STARTING ones with interrupts
 * off, so only atomics), read by the test once the walk returned. */
static unsigned long ev_count[NR_EV][CONFIG_MAX_CPUS];
static unsigned long ev_seq[NR_EV][CONFIG_MAX_CPUS];   /* sequence number of the last one */
static unsigned long seq;
static int fail_on = -1;   /* state B's startup fails on this CPU */

static void event(int ev, unsigned cpu)
{
	unsigned long n = __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&ev_count[ev][cpu], 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ev_seq[ev][cpu], n, __ATOMIC_SEQ_CST);
}

static int s_up(unsigned cpu, char *why, size_t len)
{
	(void)why;
	(void)len;
	event(EV_S_UP, cpu);
	return 0;
}

static void s_down(unsigned cpu)
{
	event(EV_S_DOWN, cpu);
}

static int a_up(unsigned cpu, char *why, size_t len)
{
	(void)why;
	(void)len;
	event(EV_A_UP, cpu);
	return 0;
}

static void a_down(unsigned cpu)
{
	event(EV_A_DOWN, cpu);
}

static int b_up(unsigned cpu, char *why, size_t len)
{
	if ((int)cpu == __atomic_load_n(&fail_on, __ATOMIC_SEQ_CST)) {
		event(EV_B_FAIL, cpu);
		snprintf(why, len, "vetoed by the selftest");
		return -1;
	}
	event(EV_B_UP, cpu);
	return 0;
}

static void b_down(unsigned cpu)
{
	event(EV_B_DOWN, cpu);
}

static unsigned long cnt(int ev, unsigned cpu)
{
	return __atomic_load_n(&ev_count[ev][cpu], __ATOMIC_SEQ_CST);
}

static unsigned long when(int ev, unsigned cpu)
{
	return __atomic_load_n(&ev_seq[ev][cpu], __ATOMIC_SEQ_CST);
}

/* Each event's count on cpu went up by exactly delta[ev] since before. */
static int counts_moved(struct selftest_ctx *ctx, const char *what, unsigned cpu,
			const unsigned long before[NR_EV], const int delta[NR_EV])
{
	static const char *const names[NR_EV] = { "STARTING startup", "STARTING teardown", "ONLINE A startup",
						  "ONLINE A teardown", "ONLINE B startup", "ONLINE B teardown",
						  "ONLINE B failure" };
	for (int ev = 0; ev < NR_EV; ev++) {
		unsigned long got = cnt(ev, cpu) - before[ev];
		if (got != (unsigned long)delta[ev])
			return st_fail(ctx, "%s of CPU %u: %s ran %lu times, expected %d", what, cpu, names[ev], got,
				       delta[ev]);
	}
	return 0;
}

static void snap(unsigned cpu, unsigned long out[NR_EV])
{
	for (int ev = 0; ev < NR_EV; ev++)
		out[ev] = cnt(ev, cpu);
}

static int run(struct selftest_ctx *ctx, unsigned target, int ids[3])
{
	char why[WHY_MAX];

	/* Registration: each startup once on every online CPU, nowhere else. */
	ids[0] = cpuhp_setup_starting_state("selftest:starting", s_up, s_down);
	ST_ASSERT(ctx, ids[0] >= 0, "no free hotplug state for the STARTING state");
	ids[1] = cpuhp_setup_state("selftest:a", a_up, a_down, why, sizeof(why));
	ST_ASSERT(ctx, ids[1] >= 0, "registering ONLINE state a: %s", why);
	ids[2] = cpuhp_setup_state("selftest:b", b_up, b_down, why, sizeof(why));
	ST_ASSERT(ctx, ids[2] >= 0, "registering ONLINE state b: %s", why);
	for (unsigned c = 0; c < nr_possible_cpus; c++) {
		unsigned long want = cpu_is_online(c) ? 1 : 0;
		ST_ASSERT(ctx, cnt(EV_S_UP, c) == want && cnt(EV_A_UP, c) == want && cnt(EV_B_UP, c) == want,
			  "after registration CPU %u (%s): startups S=%lu A=%lu B=%lu, expected %lu each", c,
			  cpu_state_name(cpu_table[c].state), cnt(EV_S_UP, c), cnt(EV_A_UP, c), cnt(EV_B_UP, c),
			  want);
	}

	/* Down: ONLINE teardowns in reverse (B, A), then STARTING on the
	 * dying CPU; exactly once each, no startup. */
	unsigned long before[NR_EV];
	snap(target, before);
	ST_ASSERT(ctx, cpu_down(target, why, sizeof(why)) == 0, "cpu_down(%u): %s", target, why);
	ST_ASSERT(ctx, !cpu_is_online(target), "CPU %u still online after cpu_down", target);
	if (counts_moved(ctx, "cpu_down", target, before, (const int[NR_EV]){ 0, 1, 0, 1, 0, 1, 0 }))
		return -1;
	ST_ASSERT(ctx, when(EV_B_DOWN, target) < when(EV_A_DOWN, target) &&
			       when(EV_A_DOWN, target) < when(EV_S_DOWN, target),
		  "cpu_down(%u): teardowns ran as B=%lu A=%lu S=%lu (want B < A < S)", target,
		  when(EV_B_DOWN, target), when(EV_A_DOWN, target), when(EV_S_DOWN, target));

	/* Up: STARTING, then ONLINE A, then B. */
	snap(target, before);
	ST_ASSERT(ctx, cpu_up(target, why, sizeof(why)) == 0, "cpu_up(%u): %s", target, why);
	ST_ASSERT(ctx, cpu_is_online(target), "CPU %u not online after cpu_up", target);
	if (counts_moved(ctx, "cpu_up", target, before, (const int[NR_EV]){ 1, 0, 1, 0, 1, 0, 0 }))
		return -1;
	ST_ASSERT(ctx, when(EV_S_UP, target) < when(EV_A_UP, target) &&
			       when(EV_A_UP, target) < when(EV_B_UP, target),
		  "cpu_up(%u): startups ran as S=%lu A=%lu B=%lu (want S < A < B)", target, when(EV_S_UP, target),
		  when(EV_A_UP, target), when(EV_B_UP, target));

	/* Veto: B fails on the way up; A and STARTING, already done, are
	 * undone (A first), and the CPU stays offline. */
	ST_ASSERT(ctx, cpu_down(target, why, sizeof(why)) == 0, "cpu_down(%u) before the veto: %s", target, why);
	__atomic_store_n(&fail_on, (int)target, __ATOMIC_SEQ_CST);
	snap(target, before);
	int r = cpu_up(target, why, sizeof(why));
	__atomic_store_n(&fail_on, -1, __ATOMIC_SEQ_CST);
	ST_ASSERT(ctx, r != 0, "cpu_up(%u) succeeded although state b failed", target);
	ST_ASSERT(ctx, strstr(why, "selftest:b") && strstr(why, "vetoed by the selftest"),
		  "cpu_up(%u) vetoed with '%s', which does not name the failing step", target, why);
	ST_ASSERT(ctx, !cpu_is_online(target), "CPU %u is %s after a vetoed online", target,
		  cpu_state_name(cpu_table[target].state));
	if (counts_moved(ctx, "vetoed cpu_up", target, before, (const int[NR_EV]){ 1, 1, 1, 1, 0, 0, 1 }))
		return -1;
	ST_ASSERT(ctx, when(EV_S_UP, target) < when(EV_A_UP, target) &&
			       when(EV_A_UP, target) < when(EV_B_FAIL, target) &&
			       when(EV_B_FAIL, target) < when(EV_A_DOWN, target) &&
			       when(EV_A_DOWN, target) < when(EV_S_DOWN, target),
		  "vetoed cpu_up(%u) ran as S+=%lu A+=%lu B!=%lu A-=%lu S-=%lu (want that order)", target,
		  when(EV_S_UP, target), when(EV_A_UP, target), when(EV_B_FAIL, target), when(EV_A_DOWN, target),
		  when(EV_S_DOWN, target));
	st_note(ctx, "CPU %u: down, up and a vetoed up ran every callback once, in order", target);
	return 0;
}

static int test_cpuhp_states(struct selftest_ctx *ctx)
{
	unsigned target = 0;
	for (unsigned c = 1; c < nr_possible_cpus; c++)
		if (cpu_is_online(c))
			target = c;
	if (target == 0) {
		st_note(ctx, "skipped: needs a second online CPU");
		return 0;
	}
	memset(ev_count, 0, sizeof(ev_count));
	memset(ev_seq, 0, sizeof(ev_seq));
	int ids[3] = { -1, -1, -1 };
	int r = run(ctx, target, ids);

	/* Leave the machine as found: the CPU online, the states gone (their
	 * teardowns run on every online CPU). */
	__atomic_store_n(&fail_on, -1, __ATOMIC_SEQ_CST);
	char why[WHY_MAX];
	if (!cpu_is_online(target) && cpu_up(target, why, sizeof(why)) != 0)
		r = st_fail(ctx, "could not bring CPU %u back: %s", target, why);
	unsigned long s_before = cnt(EV_S_DOWN, 0), a_before = cnt(EV_A_DOWN, 0);
	for (int i = 2; i >= 0; i--)
		cpuhp_remove_state(ids[i]);
	if (r == 0) {
		ST_ASSERT(ctx, cnt(EV_S_DOWN, 0) == s_before + 1 && cnt(EV_A_DOWN, 0) == a_before + 1,
			  "removing the states did not tear them down on CPU 0");
	}
	return r;
}
SELFTEST(cpuhp_states, test_cpuhp_states);

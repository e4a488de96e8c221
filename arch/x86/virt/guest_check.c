/* The guest-run check both backends' self-tests share. */
#include <asm/virt_selftest.h>

int virt_selftest_check_normal_run(struct selftest_ctx *ctx, const char *what, int r, const struct vcpu_run *run,
				   uint64_t max)
{
	ST_ASSERT(ctx, r == 0 && !run->guest_failed, "%s: vcpu_run=%d failed=%d: %s", what, r, run->guest_failed, run->why);
	ST_ASSERT(ctx, run->exits == max, "%s: %lu exits, expected %lu", what, (unsigned long)run->exits,
		  (unsigned long)max);
	uint64_t sum = 0;
	for (unsigned e = 0; e < VEXIT_COUNT; e++)
		sum += run->exit_count[e];
	ST_ASSERT(ctx, sum == run->exits, "%s: exit counts add up to %lu, not %lu", what, (unsigned long)sum,
		  (unsigned long)run->exits);
	/* The guest's loop is CPUID, OUT, hypercall, HLT; the host's own
	 * interrupts and NMIs (exits counted as "other") may come in between. */
	uint64_t loop = run->exits - run->exit_count[VEXIT_OTHER];
	uint64_t each = loop / 4;
	const enum vexit kinds[] = { VEXIT_CPUID, VEXIT_IO, VEXIT_HYPERCALL, VEXIT_HLT };
	for (unsigned i = 0; i < ARRAY_SIZE(kinds); i++)
		ST_ASSERT(ctx, run->exit_count[kinds[i]] >= each && run->exit_count[kinds[i]] <= each + 1,
			  "%s: %lu %s exits of %lu", what, (unsigned long)run->exit_count[kinds[i]],
			  vexit_name(kinds[i]), (unsigned long)loop);
	ST_ASSERT(ctx, run->hypercalls == run->exit_count[VEXIT_HYPERCALL], "%s: %lu hypercalls, %lu exits", what,
		  (unsigned long)run->hypercalls, (unsigned long)run->exit_count[VEXIT_HYPERCALL]);
	ST_ASSERT(ctx, run->guest_ns > 0, "%s: guest_ns is 0", what);
	return 0;
}

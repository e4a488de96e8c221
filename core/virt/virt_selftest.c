/*
 * Self-test of the usage core's lock order.
 *
 * virt_lock_order plants the situation of Linux's kvmclock cpufreq
 * notifier: a callback that runs with the CPU-hotplug lock held and takes
 * the VM-list lock.
 *   design=usage   the real path: a VM created and destroyed (the count
 *                  under usage_lock, inside the hotplug lock) and the
 *                  notifier on the real vm_list_lock.  Lockdep stays quiet.
 *   design=vmlist  the old design (count under the VM-list lock, taken
 *                  outside the hotplug lock) replayed with its own lock
 *                  (lock_order_replay.c).  Lockdep must report the cycle
 *                  the first time both orders are seen.
 */
#include <vigil/cmdline.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/selftest.h>
#include <vigil/virt.h>
#include "virt_internal.h"

/* Stands for a notifier called from code that holds cpus_read_lock(). */
static void clock_change_notifier(void)
{
	cpus_read_lock();
	mutex_lock(&vm_list_lock);
	/* (would update every VM's clock) */
	mutex_unlock(&vm_list_lock);
	cpus_read_unlock();
}

static int test_virt_lock_order(struct selftest_ctx *ctx)
{
	if (!lockdep_enabled()) {
		st_note(ctx, "lockdep=off: nothing to observe");
		return 0;
	}
	struct lockdep_stats before, after;
	lockdep_get_stats(&before);

	lockdep_expect_begin();
	unsigned id;
	char why[WHY_MAX];
	bool created = vm_create(&id, why, sizeof(why)) == 0;
	clock_change_notifier();
	if (created)
		vm_destroy(id, why, sizeof(why));
	unsigned reports = lockdep_expect_end();
	st_note(ctx, "design=usage vm=%s reports=%u", created ? "created" : "not-created", reports);
	ST_ASSERT(ctx, reports == 0, "usage_lock design: lockdep reported %u problems", reports);

	/* A second run finds the dependencies known and reports nothing new:
	 * then the first report must be on record. */
	struct lockdep_stats mid;
	lockdep_get_stats(&mid);
	lockdep_expect_begin();
	virt_replay_old_lock_design();
	reports = lockdep_expect_end();
	lockdep_get_stats(&after);
	st_note(ctx, "design=vmlist replayed reports=%u", reports);
	ST_ASSERT(ctx, after.violations == before.violations,
		  "planted reports counted as violations (%u -> %u)", before.violations, after.violations);
	ST_ASSERT(ctx, reports >= 1 || mid.expected > 0,
		  "old design: lockdep did not report the old_vm_list_lock / cpu-hotplug lock cycle");
	return 0;
}
SELFTEST(virt_lock_order, test_virt_lock_order);

/* virt_lock=usage|vmlist chose between the two designs; the production
 * path now has one, and the old one lives in the self-test above. */
static int parse_removed_virt_lock(const char *value, void *field)
{
	(void)value;
	(void)field;
	return -1;
}
BOOT_PARAM_CUSTOM(virt_lock, "none: removed; selftest virt_lock_order", parse_removed_virt_lock);

/*
 * Self-tests of the usage core's lock order.
 *
 * virt_lock_order plants the situation of Linux's kvmclock cpufreq
 * notifier: a callback that runs with the CPU-hotplug lock held and takes
 * the VM-list lock.  With the usage count under its own mutex (the default)
 * that is harmless and lockdep must stay quiet; with virt_lock=vmlist (the
 * old design: count under the VM-list lock, held across enabling, outside
 * the hotplug lock) the two orders form a cycle that lockdep must report the
 * first time both are seen -- long before any real deadlock.
 */
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
	lockdep_get_stats(&after);
	st_note(ctx, "design=%s vm=%s reports=%u", virt_old_lock_design ? "vmlist" : "usage",
		created ? "created" : "not-created", reports);
	ST_ASSERT(ctx, after.violations == before.violations,
		  "planted reports counted as violations (%u -> %u)", before.violations, after.violations);
	if (virt_old_lock_design)
		ST_ASSERT(ctx, reports >= 1 || before.expected > 0,
			  "old design: lockdep did not report the vm_list_lock / cpu-hotplug lock cycle");
	else
		ST_ASSERT(ctx, reports == 0, "usage_lock design: lockdep reported %u problems", reports);
	return 0;
}
SELFTEST(virt_lock_order, test_virt_lock_order);

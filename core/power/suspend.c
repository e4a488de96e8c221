/*
 * One suspend/resume cycle (include/vigil/suspend.h, docs/design.md section 6).
 *
 * Lock order: pm_mutex, then (inside cpu_down/cpu_up) cpus_write_lock.  A
 * suspend asked for while another thread is inside a virtualization enable
 * (virt_get holds cpus_read_lock around it) waits in the first cpu_down for
 * that enable to finish, as every hotplug writer does.
 *
 * Syscore callbacks (include/vigil/syscore.h; virtualization registers
 * its own) run on the boot CPU with interrupts off and every other CPU
 * offline; nothing can hold usage_lock there (its holders hold
 * cpus_read_lock too, which the offlining excluded), which
 * virt_syscore_suspend asserts.
 */
#include <vigil/arch.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp.h>
#include <vigil/mm.h>
#include <vigil/mutex.h>
#include <vigil/page_snapshot.h>
#include <vigil/platform_sleep.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/string.h>
#include <vigil/suspend.h>
#include <vigil/syscore.h>
#include <vigil/task.h>
#include "freezer_internal.h"

static DEFINE_MUTEX(pm_mutex);
static unsigned long cycles;

unsigned long suspend_cycles(void)
{
	return __atomic_load_n(&cycles, __ATOMIC_RELAXED);
}

/* Bring back the CPUs taken down; a CPU that does not come back is
 * reported (its reason printed) and left offline. */
static void online_again(const bool *was, char *why, size_t len)
{
	for (unsigned c = 1; c < nr_possible_cpus; c++) {
		if (!was[c])
			continue;
		char w[160];
		if (cpu_up(c, w, sizeof(w)) != 0) {
			printk("WARNING: suspend: CPU %u did not come back online: %s\n", c, w);
			if (why && !why[0])
				snprintf(why, len, "CPU %u did not come back online: %s", c, w);
		}
	}
}

static int do_suspend_cycle(bool s3, char *why, size_t len, struct suspend_times *t, struct page_snapshot *ps);

int suspend_cycle(bool s3, char *why, size_t len, struct suspend_times *t)
{
	return do_suspend_cycle(s3, why, len, t, NULL);
}

int suspend_cycle_hashed(bool s3, bool all, char *why, size_t len, struct suspend_times *t, unsigned *checked,
			 unsigned *changed)
{
	*checked = *changed = 0;
	struct page_snapshot *ps = page_snapshot_alloc(all);
	if (!ps) {
		why[0] = 0;
		memset(t, 0, sizeof(*t));
		snprintf(why, len, "out of memory for the page hash");
		return -1;
	}
	int r = do_suspend_cycle(s3, why, len, t, ps);
	if (r == 0) {
		page_snapshot_report(ps, "suspend");
		*checked = page_snapshot_count(ps);
		*changed = page_snapshot_nr_changed(ps);
	}
	page_snapshot_free(ps);
	return r;
}

static int do_suspend_cycle(bool s3, char *why, size_t len, struct suspend_times *t, struct page_snapshot *ps)
{
	why[0] = 0;
	memset(t, 0, sizeof(*t));
	if (preempt_count()) {
		snprintf(why, len, "suspend called in atomic context");
		return -1;
	}
	mutex_lock(&pm_mutex);
	uint64_t t0 = arch_time_ns();
	bool *was = NULL;
	if (s3 && platform_sleep_valid(why, len) != 0) {
		char w[160];
		snprintf(w, sizeof(w), "S3 not supported: %s", why);
		strlcpy(why, w, len);
		goto out_unlock;
	}
	if (freeze_tasks(why, len) != 0)
		goto out_unlock;
	was = kzalloc(sizeof(bool) * nr_possible_cpus);
	if (!was) {
		snprintf(why, len, "out of memory");
		goto out_thaw;
	}
	/* Non-boot CPUs down, highest first (as Linux's freeze_secondary_cpus). */
	for (unsigned c = nr_possible_cpus; c-- > 1;) {
		if (!cpu_is_online(c))
			continue;
		char w[160];
		if (cpu_down(c, w, sizeof(w)) != 0) {
			snprintf(why, len, "CPU %u would not go offline: %s", c, w);
			goto out_online;
		}
		was[c] = true;
	}

	unsigned long flags = arch_irq_save();
	syscore_suspend();
	uint64_t t1 = arch_time_ns();
	t->suspend_ns = t1 - t0;
	int r = 0;
	if (s3) {
		r = platform_sleep_enter(ps, why, len);
	} else if (ps) {
		/* The simulated sleep: nothing runs in between, so nothing may
		 * change (the control for the S3 figure). */
		struct task *cur = current_task();
		page_snapshot_take(ps, cur ? cur->stack_phys : 0, cur ? PAGE_SIZE << TASK_STACK_ORDER : 0);
		page_snapshot_compare(ps);
	}
	uint64_t t2 = arch_time_ns();
	t->asleep_ns = t2 - t1;
	syscore_resume();
	arch_irq_restore(flags);

	/* The boot CPU first: its failed re-enable happened first, and no
	 * hotplug reports it as it does an AP's. */
	char late[200] = "";
	syscore_resume_problem(late, sizeof(late));
	online_again(was, late, sizeof(late));
	kfree(was);
	thaw_tasks();
	t->resume_ns = arch_time_ns() - t2;
	if (r == 0)
		cycles++;
	mutex_unlock(&pm_mutex);
	if (r != 0) {
		char w[200];
		snprintf(w, sizeof(w), "S3 not entered: %s", why);
		strlcpy(why, w, len);
		return -1;
	}
	if (late[0]) {
		strlcpy(why, late, len);
		return -1;
	}
	return 0;

	/* Refused before the sleep: undo what was done, in reverse. */
out_online:
	online_again(was, NULL, 0);
	kfree(was);
out_thaw:
	thaw_tasks();
out_unlock:
	mutex_unlock(&pm_mutex);
	return -1;
}

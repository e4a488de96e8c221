/*
 * The task freezer (include/vigil/suspend.h).  Freezable tasks park
 * themselves in try_to_freeze() while pm_freezing is set; freeze_tasks()
 * waits (bounded) until every freezable task is parked, so no such task is
 * half-way through something when the CPUs go down.  The count of freezable
 * tasks is kept per task flag; a freezable task that exits must leave the
 * count (set_freezable(false) semantics are not needed yet: tasks using it
 * live until the machine stops or call freezer_exit()).
 */
#include <vigil/arch.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/suspend.h>
#include <vigil/task.h>
#include <vigil/waitqueue.h>
#include "freezer_internal.h"

static volatile bool pm_freezing;
static volatile unsigned freezable_tasks, frozen_tasks;
static DECLARE_WAIT_QUEUE_HEAD(thaw_wq);

/* Tasks that may sleep on something else than the freezer, or run code the
 * freezer cannot interrupt (a vCPU in its guest), are got to a freezing
 * point by their owner's kick, called once pm_freezing is visible. */
#define FREEZER_KICKS 4
static void (*freezer_kicks[FREEZER_KICKS])(void);

int freezer_register_kick(void (*fn)(void))
{
	for (unsigned i = 0; i < FREEZER_KICKS; i++)
		if (!freezer_kicks[i]) {
			freezer_kicks[i] = fn;
			return 0;
		}
	return -1;
}

static void kick_freezables(void)
{
	for (unsigned i = 0; i < FREEZER_KICKS; i++)
		if (freezer_kicks[i])
			freezer_kicks[i]();
}

void set_freezable(void)
{
	struct task *t = current_task();
	if (t->frozen_ok)
		return;
	t->frozen_ok = true;
	__atomic_add_fetch(&freezable_tasks, 1, __ATOMIC_SEQ_CST);
}

void freezer_exit(void)
{
	struct task *t = current_task();
	if (!t->frozen_ok)
		return;
	t->frozen_ok = false;
	__atomic_sub_fetch(&freezable_tasks, 1, __ATOMIC_SEQ_CST);
}

bool freezing(void)
{
	return __atomic_load_n(&pm_freezing, __ATOMIC_ACQUIRE);
}

bool try_to_freeze(void)
{
	if (!current_task()->frozen_ok || !freezing())
		return false;
	__atomic_add_fetch(&frozen_tasks, 1, __ATOMIC_SEQ_CST);
	wait_event(&thaw_wq, !freezing());
	__atomic_sub_fetch(&frozen_tasks, 1, __ATOMIC_SEQ_CST);
	return true;
}

int freeze_tasks(char *why, size_t len)
{
	__atomic_store_n(&pm_freezing, true, __ATOMIC_SEQ_CST);
	kick_freezables();
	uint64_t deadline = arch_time_ns() + FREEZE_TIMEOUT_NS;
	while (__atomic_load_n(&frozen_tasks, __ATOMIC_SEQ_CST) < __atomic_load_n(&freezable_tasks, __ATOMIC_SEQ_CST)) {
		if (arch_time_ns() > deadline) {
			snprintf(why, len, "%u of %u freezable tasks did not freeze within %llu ms", freezable_tasks - frozen_tasks,
				 freezable_tasks, FREEZE_TIMEOUT_NS / 1000000);
			thaw_tasks();
			return -1;
		}
		sleep_ns(1000000);
	}
	return 0;
}

void thaw_tasks(void)
{
	__atomic_store_n(&pm_freezing, false, __ATOMIC_SEQ_CST);
	wake_up_all(&thaw_wq);
}

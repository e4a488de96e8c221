/*
 * memslot_inval=count|rwsem|noretry: the design new VMs use to keep
 * invalidations of guest memory and slot swaps apart (docs/invalidation.md).
 * count (default) is KVM's counted start/end with a swap that waits; rwsem
 * is the old design that deadlocks when invalidations nest behind a queued
 * swap, kept to show that deadlock; noretry is count with the fault path's
 * retry switched off, broken on purpose so that a test shows the lost write
 * it causes.
 */
#include <vigil/cmdline.h>
#include <vigil/mmu_invalidate.h>
#include <vigil/string.h>

BOOT_PARAM_CHOICE(memslot_inval, "count|rwsem|noretry");

enum mmu_inval_mode mmu_invalidate_boot_mode(void)
{
	const char *v = boot_params()->memslot_inval;
	if (!strcmp(v, "rwsem"))
		return MMU_INVAL_RWSEM;
	if (!strcmp(v, "noretry"))
		return MMU_INVAL_NORETRY;
	return MMU_INVAL_COUNT;
}

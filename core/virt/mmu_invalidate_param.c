/*
 * memslot_inval=count|rwsem: the design new VMs use to keep invalidations of
 * guest memory and slot swaps apart (docs/invalidation.md).  count (default)
 * is KVM's counted start/end with a swap that waits; rwsem is the old design
 * that deadlocks when invalidations nest behind a queued swap, kept to show
 * that deadlock.
 */
#include <vigil/cmdline.h>
#include <vigil/mmu_invalidate.h>
#include <vigil/string.h>

BOOT_PARAM_CHOICE(memslot_inval, "count|rwsem");

enum mmu_inval_mode mmu_invalidate_boot_mode(void)
{
	return strcmp(boot_params()->memslot_inval, "rwsem") == 0 ? MMU_INVAL_RWSEM : MMU_INVAL_COUNT;
}

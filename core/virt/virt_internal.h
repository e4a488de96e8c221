/* Shared between the files of core/virt/ only. */
#ifndef CORE_VIRT_INTERNAL_H
#define CORE_VIRT_INTERNAL_H
#include <vigil/mutex.h>
#include <vigil/virt.h>
extern struct mutex vm_list_lock;
extern struct mutex usage_lock;
extern bool virt_old_lock_design;
int virt_get_locked(char *why, size_t len);
void virt_put_locked(void);
const struct virt_ops *virt_ops_current(void);
struct vm;
void vm_for_each(void (*fn)(const struct vm *vm, void *arg), void *arg);
/* For the benchmarks: the lock that protects the count (usage_lock, or
 * vm_list_lock in the old design), and one CPU's enable (compatibility
 * check included) and disable, run on the current CPU with that lock held
 * and preemption off. */
struct mutex *virt_count_lock(void);
int virt_enable_this_cpu(char *why, size_t len);
void virt_disable_this_cpu(void);
#endif

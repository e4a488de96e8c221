/* Shared between the files of core/virt/ only. */
#ifndef CORE_VIRT_INTERNAL_H
#define CORE_VIRT_INTERNAL_H
#include <vigil/config.h>
#include <vigil/mutex.h>
#include <vigil/virt.h>
extern struct mutex vm_list_lock;
extern struct mutex usage_lock;
/* The requests of VM id's vCPU, or NULL (no such VM).  The VM must not be
 * destroyed while the caller uses them (the vm_run_kick self-test owns its VM). */
struct vcpu_requests *vm_requests(unsigned id);
/* `vm slot ...` and `vm mem ...` (vm_slot_cmds.c), sub-commands of `vm`. */
struct shell_ctx;
int vm_slot_cmd(struct shell_ctx *ctx, int argc, char **argv);
int vm_mem_cmd(struct shell_ctx *ctx, int argc, char **argv);
/* Benches (vm_slot_churn.c): a started live VM of nr vCPUs of the pattern
 * guest whose slot *data is exactly their areas (from guest-physical
 * 0x22000, asm/vexit.h), every vCPU entered; 0, or -1 with why (also when
 * the machine has fewer CPUs than nr). */
int vm_bench_areas_vm(unsigned nr, unsigned *id, unsigned *data, char *why, size_t len);
#define BENCH_AREAS 0x22000ULL     /* the pattern guest's areas (asm/vexit.h) */
#define BENCH_AREA 0x4000ULL       /* one vCPU's area */
/* `vm mem churn|churnstop` (vm_mem_churn.c). */
int vm_mem_churn_cmd(struct shell_ctx *ctx, unsigned id, bool start, int argc, char **argv);

/* Per-CPU state (virt_cpu_enabled() & co. read it).  Written on the CPU
 * concerned under usage_lock, or by syscore/emergency code that runs
 * alone; zeroed by virt_init. */
struct virt_cpu {
	bool enabled;
	char compat[64];     /* "" until checked (read as "unchecked") */
	unsigned compat_gen; /* cpu_table[].present_gen when compat was set */
	char degraded[64];   /* "" or why: the boot CPU after a failed re-enable */
};
extern struct virt_cpu virt_cpus[CONFIG_MAX_CPUS];

/* The life-cycle callbacks virt_init registers (usage.c); declared here for
 * the host tests, which also call them directly. */
extern int virt_hotplug_state;   /* the "virt:online" hotplug state, or -1 */
int virt_cpu_online(unsigned cpu, char *why, size_t len); /* on cpu, its hotplug thread */
void virt_cpu_offline(unsigned cpu);                        /* on cpu */
void virt_syscore_suspend(void);                            /* boot CPU, irqs off */
void virt_syscore_resume(void);                             /* boot CPU, irqs off */
/* Shutdown/reboot: waits (bounded, 5 s) for an enable under way, latches
 * `rebooting` so that every later enable is refused ("the system is
 * rebooting"), then disables on every online CPU.  Returns on how many CPUs
 * it was on, -1 without a backend.  Sleeping context. */
int virt_reboot(void);
/* NMI/panic context, any CPU: leave virtualization at any cost; no locks, no
 * printk.  Returns what the hardware says afterwards: 0 off, 1 still on,
 * -1 no backend. */
int virt_emergency_disable_this_cpu(void);
/* The old lock design (count under the VM-list lock, taken outside the
 * hotplug lock) replayed with its own locks, then a notifier that takes
 * that lock under cpus_read_lock: lockdep must report the cycle
 * (lock_order_replay.c). */
void virt_replay_old_lock_design(void);
int virt_get_locked(char *why, size_t len);
void virt_put_locked(void);
const struct virt_ops *virt_ops_current(void);
struct vm;
void vm_for_each(void (*fn)(const struct vm *vm, void *arg), void *arg);
/* For the benchmarks: the lock that protects the count (usage_lock), and
 * one CPU's enable (compatibility
 * check included) and disable, run on the current CPU with that lock held
 * and preemption off. */
struct mutex *virt_count_lock(void);
int virt_enable_this_cpu(char *why, size_t len);
void virt_disable_this_cpu(void);

/* Live VMs (vm.c, vm_live.c, vcpu_hotplug.c; docs/locking.md). */
extern struct mutex vm_life_lock;
struct vm *vm_find_locked(unsigned id);   /* vm_list_lock held */
struct vm *vm_first_locked(void);         /* vm_list_lock held; then vm->next */
int vm_vcpus_alloc(struct vm *vm, unsigned nr, char *why, size_t len);
void vm_vcpus_name(struct vm *vm);
void vm_vcpus_free(struct vm *vm);
/* vm_life_lock held: stop the VM's vCPU tasks if they run (vm destroy). */
void vm_live_stop_locked(struct vm *vm);
/* usage.c calls it at the start of virt_reboot, before disabling. */
void virt_set_reboot_prepare(unsigned (*fn)(void));
#endif

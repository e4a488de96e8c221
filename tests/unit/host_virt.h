/*
 * A host virtualization backend (struct virt_ops, arch_virt_ops,
 * arch_virt_snapshot_common) for unit tests of core/virt/ on host_smp's fake
 * CPUs.  Each fake CPU has a "hardware enabled" bit (what CR4.VMXE /
 * EFER.SVME would say) and counters; faults can be injected; and every call
 * is checked the way the hardware would punish a mistake:
 *
 *  - snapshot, enable, disable and hw_enabled run with the CPU owned
 *    (preemption or interrupts off, in_atomic()): they act on "this CPU",
 *    which must not change under them;
 *  - enable on a CPU whose bit is already set is a violation (the real
 *    backends refuse it: VMXON with CR4.VMXE set, or someone else's SVM);
 *    the core's per-CPU flag must make enabling idempotent;
 *  - disable on a CPU whose bit is clear is a violation (virt_ops: "only
 *    called when enable succeeded").
 *
 * A violation is printed (printk, so host_console_dump shows it), counted,
 * and the first one kept; tests assert host_virt_violations() == 0.  The
 * backend never calls cmocka itself: it runs on worker threads.
 *
 * Also here: kmalloc/kzalloc/kfree on the host libc (the sanitizers watch
 * them), which the usage core needs.
 */
#ifndef TESTS_UNIT_HOST_VIRT_H
#define TESTS_UNIT_HOST_VIRT_H

#include <stdbool.h>
#include <stdint.h>

#define HOST_VIRT_NAME "hostvirt"
/* The reason enable gives when a fault is injected. */
#define HOST_VIRT_ENABLE_FAIL_MSG "enable refused by the host backend (injected)"
/* The snapshot fields: one from arch_virt_snapshot_common, one from the
 * backend's own snapshot. */
#define HOST_VIRT_FIELD_COMMON  "cr4_reserved"
#define HOST_VIRT_FIELD_BACKEND "host_caps"

/* Every CPU off, counters zero, no fault armed, backend available. */
void host_virt_reset(void);
/* false: arch_virt_ops() returns NULL ("no virtualization (host test)"). */
void host_virt_set_available(bool available);

/* The next count enables on cpu fail (count -1: every one; 0: disarm). */
void host_virt_fail_enable(unsigned cpu, int count);
/* Each enable on any CPU fails with probability permille/1000 (0: off). */
void host_virt_fail_random(unsigned permille);
/* cpu's snapshot differs from the others' in field (one of the
 * HOST_VIRT_FIELD_* names), or no longer (NULL). */
void host_virt_skew_snapshot(unsigned cpu, const char *field);

bool host_virt_hw_on(unsigned cpu);
uint64_t host_virt_enables(unsigned cpu);          /* successful */
uint64_t host_virt_disables(unsigned cpu);
uint64_t host_virt_enable_failures(unsigned cpu);  /* injected failures */
uint64_t host_virt_snapshots(unsigned cpu);

/* Called by enable (before the fault injection) and disable, on the CPU
 * concerned, op "enable" or "disable": a test's extra checks of the context
 * (locks held by the core...), reported by the test itself.  NULL: none. */
typedef void (*host_virt_hook_fn)(const char *op, unsigned cpu);
void host_virt_set_hook(host_virt_hook_fn fn);

unsigned host_virt_violations(void);
/* The first violation's message ("" when none). */
const char *host_virt_first_violation(void);

#endif

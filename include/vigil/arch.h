/*
 * The hooks core/ needs from an architecture.  arch/x86 implements them for
 * the real machine; tests/unit/host_sched.c (with host_cpuhp.c and
 * host_virt.c) implements them again for the host (CPUs as threads), which
 * is what lets core/ be unit- and stress-tested.
 *
 * This is the only door between core/ and the hardware: core/ includes no
 * other arch header.
 */
#ifndef VIGIL_ARCH_H
#define VIGIL_ARCH_H

#include <vigil/types.h>

/* Monotonic time since boot in nanoseconds. */
uint64_t arch_time_ns(void);

/* Raw console I/O (serial port, framebuffer).  getc returns -1 when no byte
 * is waiting; it never blocks. */
void arch_console_write(const char *s, size_t n);
int arch_console_getc(void);

/* Wait for the next interrupt (interrupts enabled while waiting). */
void arch_idle(void);

/* Interrupt state of the current CPU. */
unsigned long arch_irq_save(void);          /* disable, return previous state */
void arch_irq_restore(unsigned long flags);
bool arch_irqs_enabled(void);

/* Stop the machine.  status 0 = success (clean poweroff); non-zero = failure
 * (panic).  Under QEMU the status becomes QEMU's exit status. */
__noreturn void arch_poweroff(int status);
__noreturn void arch_reboot(void);

/* Stop this CPU for good (interrupts off, halted). */
__noreturn void arch_idle_forever(void);
/* An offlined CPU's last act (from its idle task, interrupts off): stop its
 * timer and halt until the next online restarts it with INIT-SIPI-SIPI. */
__noreturn void arch_cpu_park(void);

/* Print a backtrace of the current stack (frame pointers + ksyms). */
void arch_dump_stack(void);

/* ---- scheduler and SMP support ---- */
struct task;
/* Save callee-saved state on the current stack, store the stack pointer in
 * *prev_sp, switch to next_sp and resume the task saved there. */
void arch_switch_to(uint64_t *prev_sp, uint64_t next_sp);
/* Prepare a new task's stack so that arch_switch_to into it calls
 * entry() (which never returns) with interrupts disabled. */
uint64_t arch_task_stack_init(void *stack_top, void (*entry)(void));
/* Map the stack pages [phys, phys + bytes) at a fresh virtual address with an
 * unmapped guard page right below; returns the stack's lowest address (NULL
 * when the stack area is used up).  Never unmapped: core/sched/task_stack.c
 * keeps freed stacks for reuse, so no other CPU's TLB can hold a stale
 * translation of a reused address. */
void *arch_stack_map(uint64_t phys, size_t bytes);
struct task *arch_get_current(void);
void arch_set_current(struct task *t);
bool arch_in_interrupt(void);
void arch_cpu_relax(void);

/* IPI_VCPU_KICK: its handler does nothing; a vCPU in guest mode on the
 * target exits to take it (core/virt/vcpu_request.c). */
enum ipi_kind { IPI_RESCHEDULE, IPI_CALL_FUNCTION, IPI_VCPU_KICK };
void arch_send_ipi(unsigned cpu, enum ipi_kind kind);
/* Every online CPU prints a backtrace of what it is running (NMI). */
void arch_backtrace_all_cpus(void);
/* Deliver an NMI to cpu; its handler calls panic_nmi() and nmi_handler()
 * (core). */
void arch_send_nmi(unsigned cpu);
/* The logical number of the CPU running this, or -1 while it has no per-CPU
 * area (the boot CPU before its set-up, an AP early in its bring-up).  Safe
 * in any context, NMI included: the panic path uses it where
 * smp_processor_id() could fault. */
int arch_this_cpu_id(void);

/* Sleep states (ACPI S3) are not here: the architecture registers them as
 * the platform sleep (include/vigil/platform_sleep.h), and devices their
 * own callbacks (include/vigil/dev_pm.h). */

/* Start handling the firmware's CPU hot-add/hot-remove events, if the
 * platform has them (after cpuhp_init). */
void arch_cpu_hotplug_events_init(void);

#endif

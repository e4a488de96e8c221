/*
 * The host implementation of include/vigil/smp.h (cross-CPU calls) and the
 * host side of include/vigil/cpu.h's CPU table, on top of host_sched's fake
 * CPUs, so core code that fans out to "every online CPU" runs under real
 * threads in unit tests.
 *
 *  - Every possible fake CPU has a worker task (a host_sched task on that
 *    CPU).  A call queued to CPU c is run by c's worker as the interrupt
 *    handler would run it: in_interrupt(), interrupts off, owning the CPU
 *    (host_sched's per-CPU mutex), so smp_processor_id() == c and no task of
 *    CPU c is inside a preemption-off section meanwhile -- exactly the
 *    guarantees fn has on the real machine.
 *  - A caller that waits does so with preemption off, as core/smp/call.c
 *    does; on the real machine its CPU still takes IPIs while it spins.  The
 *    host caller therefore serves calls queued to its own CPU while it
 *    waits (otherwise two CPUs calling each other would deadlock on the CPU
 *    mutexes, which the real machine never does).
 *  - The CPU table is the real one (core/cpu_table.c): host_smp_start()
 *    registers the fake CPUs there, and host_cpu_online()/host_cpu_offline()
 *    change a CPU's state the way hotplug will.
 *
 * Contract for CPU state changes (host_cpu_online/offline): they are made
 * while nothing reads the state concurrently except through this file --
 * i.e. with the CPU-hotplug lock held for write (cpus_write_lock(), what the
 * kernel's hotplug does) or from a quiescent test.  They must be called from
 * a preemptible context.  Calls already queued to a CPU going offline still
 * run on it before host_cpu_offline() returns (Linux flushes a dying CPU's
 * queue the same way); after it returns none is queued there, and
 * smp_call_function_single() to it fails.  Tasks a test placed on an
 * offline CPU keep running there: moving them (host_task_set_cpu) is the
 * test's job, as it is the scheduler's in the kernel.
 */
#ifndef TESTS_UNIT_HOST_SMP_H
#define TESTS_UNIT_HOST_SMP_H

#include <stdbool.h>
#include <stdint.h>

/* Register CPUs 0..possible-1 in the CPU table (0..online-1 online, the
 * rest offline), and start a worker for each.  possible <= HOST_MAX_CPUS,
 * 1 <= online <= possible.  The table starts clean (virt off, compat
 * "unchecked").  Call from a preemptible context with no worker running. */
void host_smp_start(unsigned possible, unsigned online);
/* Wait until every queued call ran, then stop and join the workers. */
void host_smp_stop(void);

/* CPU state changes (see the contract above). */
void host_cpu_online(unsigned cpu);
void host_cpu_offline(unsigned cpu);
unsigned host_cpus_online(void);

/* Return once no call is queued or running on any CPU (non-waiting calls
 * included). */
void host_smp_quiesce(void);

/* Calls run on cpu so far (by its worker, by a waiting caller there, or
 * directly by a caller on that CPU). */
uint64_t host_smp_calls(unsigned cpu);
/* true while the current task runs a cross-CPU call's fn (any path). */
bool host_smp_in_call(void);

#endif

/*
 * The entry gate of a VM: how an atomic slot update keeps every vCPU of the
 * VM out of the guest while a deleted range overlaps an added one (the
 * scheme of QEMU's 2023 "kvm: Atomic memslot updates"; docs/design.md,
 * "Atomic slot updates"; tests/model/memslot_update.pml, Model 3).
 *
 *   vCPU (core/virt/vcpu.c)                 updater (slots lock held)
 *   vm_gate_enter(): inside++   (seq_cst)   vm_gate_close(): closed = 1 (seq_cst)
 *     closed? -> inside--, wake the         kick every vCPU (request + IPI)
 *       updater, sleep outside (no lock,    sleep until inside == 0
 *       freezable), retry                   ... publish, wait for readers ...
 *   load, guest mode, re-check requests,    vm_gate_open(): closed = 0, wake
 *   guest, exit, handle the exit (slot        every blocked vCPU
 *   lookups)
 *   vm_gate_leave(): inside--; 0 and
 *     closed -> wake the updater
 *
 * Each side stores, then loads what the other stored, with a full barrier
 * in between (Dekker): either the vCPU sees the gate closed and backs out, or
 * the updater sees its indicator and waits for it.  A vCPU whose indicator
 * is counted but that has not yet published guest mode gets the request the
 * updater makes before its kick, so its re-check sends it back round the
 * loop instead of into the guest (vcpu_request.h).  A vCPU never sleeps
 * with its indicator counted: between vm_gate_enter() and vm_gate_leave()
 * it runs with preemption off, so the updater's wait is bounded by one
 * exit's handling.  The updater holds only the slots lock while it waits,
 * which no vCPU takes: not cpus_read_lock (a CPU going offline waits for
 * vCPUs to leave, and those blocked at the gate are parked, not on a CPU).
 */
#ifndef VIGIL_VM_GATE_H
#define VIGIL_VM_GATE_H

#include <vigil/types.h>
#include <vigil/waitqueue.h>

struct vm_gate {
	int closed;                    /* atomic: entries blocked (an inhibition is on) */
	int inside;                    /* atomic: in-entry indicators set */
	struct wait_queue_head drained; /* the updater waits for inside == 0 */
	/* Statistics (`vm slot stat`), atomic adds. */
	uint64_t inhibitions;          /* vm_gate_close() calls */
	uint64_t blocked;              /* entries that found the gate closed */
	uint64_t blocked_ns;           /* time vCPUs spent blocked at the gate */
};

void vm_gate_init(struct vm_gate *g);

/* vCPU, preemptible, before its last request check: true = the indicator is
 * set, go on and enter (then vm_gate_leave() after the exit is handled);
 * false = the gate is closed, nothing held: sleep until vm_gate_is_closed()
 * is false (or the loop has other work) and try again. */
bool vm_gate_enter(struct vm_gate *g);
void vm_gate_leave(struct vm_gate *g);
static inline bool vm_gate_is_closed(const struct vm_gate *g)
{
	return __atomic_load_n(&g->closed, __ATOMIC_SEQ_CST) != 0;
}
/* The vCPU slept ns at the closed gate (statistics). */
void vm_gate_count_blocked(struct vm_gate *g, uint64_t ns);

/* Updater, task context, preemptible, holding nothing a vCPU needs to
 * leave the guest.  close: block new entries, kick(arg) (which must make a
 * request of every vCPU and kick it), sleep until no indicator is set.
 * open: let entries in again and wake(arg) every vCPU blocked at the gate.
 * One updater at a time (the slots lock). */
void vm_gate_close(struct vm_gate *g, void (*kick)(void *arg), void *arg);
void vm_gate_open(struct vm_gate *g, void (*wake)(void *arg), void *arg);

#endif

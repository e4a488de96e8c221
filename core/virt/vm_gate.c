/*
 * The entry gate of a VM (include/vigil/vm_gate.h has the protocol; Model 3,
 * tests/model/memslot_update.pml, checks it against CPU offline and
 * migration).  Plain counters and one wait queue: the vCPU side never
 * sleeps here, the updater sleeps in vm_gate_close() only.
 */
#include <vigil/vm_gate.h>

void vm_gate_init(struct vm_gate *g)
{
	g->closed = 0;
	g->inside = 0;
	g->inhibitions = g->blocked = g->blocked_ns = 0;
	init_waitqueue_head(&g->drained);
}

/* The last indicator going away while the gate is closed wakes the updater.
 * The decrement is a full barrier, so the updater's wait_event either sees
 * inside == 0 or is on the queue before we look at it. */
static void drop_indicator(struct vm_gate *g)
{
	if (__atomic_sub_fetch(&g->inside, 1, __ATOMIC_SEQ_CST) == 0 && vm_gate_is_closed(g))
		wake_up_all(&g->drained);
}

bool vm_gate_enter(struct vm_gate *g)
{
	__atomic_add_fetch(&g->inside, 1, __ATOMIC_SEQ_CST);
	if (!vm_gate_is_closed(g))
		return true;
	/* Closed: not inside after all (the updater may be waiting for us). */
	drop_indicator(g);
	__atomic_add_fetch(&g->blocked, 1, __ATOMIC_RELAXED);
	return false;
}

void vm_gate_leave(struct vm_gate *g)
{
	drop_indicator(g);
}

void vm_gate_count_blocked(struct vm_gate *g, uint64_t ns)
{
	__atomic_add_fetch(&g->blocked_ns, ns, __ATOMIC_RELAXED);
}

void vm_gate_close(struct vm_gate *g, void (*kick)(void *arg), void *arg)
{
	__atomic_store_n(&g->closed, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&g->inhibitions, 1, __ATOMIC_RELAXED);
	if (kick)
		kick(arg);
	wait_event(&g->drained, __atomic_load_n(&g->inside, __ATOMIC_SEQ_CST) == 0);
}

void vm_gate_open(struct vm_gate *g, void (*wake)(void *arg), void *arg)
{
	__atomic_store_n(&g->closed, 0, __ATOMIC_SEQ_CST);
	if (wake)
		wake(arg);
}

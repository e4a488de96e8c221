/*
 * The console's input ring: one producer (whoever holds the poll lock in
 * console_input.c) and one consumer (the shell).  Positions count bytes
 * since boot and never wrap in practice (64 bits); the producer owns head,
 * the consumer tail.  The release store of each index publishes the bytes
 * before it; the acquire load on the other side sees them.
 */
#include <vigil/atomic.h>
#include <vigil/console_input.h>
#include <vigil/string.h>

_Static_assert((INPUT_RING_SIZE & (INPUT_RING_SIZE - 1)) == 0, "ring size is a power of two");

void input_ring_init(struct input_ring *r)
{
	memset(r, 0, sizeof(*r));
}

bool input_ring_push(struct input_ring *r, uint8_t byte)
{
	uint64_t head = READ_ONCE(r->head);

	if (head - smp_load_acquire(&r->tail) >= INPUT_RING_SIZE)
		return false;
	r->buf[head & (INPUT_RING_SIZE - 1)] = byte;
	smp_store_release(&r->head, head + 1);
	return true;
}

int input_ring_pop(struct input_ring *r)
{
	uint64_t tail = READ_ONCE(r->tail);

	if (smp_load_acquire(&r->head) == tail)
		return -1;
	int c = r->buf[tail & (INPUT_RING_SIZE - 1)];
	smp_store_release(&r->tail, tail + 1);
	return c;
}

size_t input_ring_count(const struct input_ring *r)
{
	return (size_t)(smp_load_acquire(&r->head) - READ_ONCE(r->tail));
}

void input_ring_discard_to(struct input_ring *r, uint64_t pos)
{
	uint64_t head = smp_load_acquire(&r->head);

	if (pos > head)
		pos = head;
	if (pos > READ_ONCE(r->tail))
		smp_store_release(&r->tail, pos);
}

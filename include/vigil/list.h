/*
 * Intrusive circular doubly linked list (the Linux list_head).  A list is a
 * struct list_head that points to itself when empty; elements embed a
 * struct list_head and are recovered with list_entry() (container_of).
 * Nothing here locks: the user's lock protects the list.
 */
#ifndef VIGIL_LIST_H
#define VIGIL_LIST_H

#include <vigil/types.h>

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define LIST_HEAD(name) struct list_head name = LIST_HEAD_INIT(name)

static inline void INIT_LIST_HEAD(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline void __list_add(struct list_head *n, struct list_head *prev, struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

/* Insert n right after head (stack order). */
static inline void list_add(struct list_head *n, struct list_head *head)
{
	__list_add(n, head, head->next);
}

/* Insert n before head, i.e. at the end (queue order). */
static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	__list_add(n, head->prev, head);
}

static inline void __list_del(struct list_head *prev, struct list_head *next)
{
	next->prev = prev;
	prev->next = next;
}

/* Unlink e; e is left pointing at itself so list_empty(e) is true and a
 * second list_del_init is harmless. */
static inline void list_del_init(struct list_head *e)
{
	__list_del(e->prev, e->next);
	INIT_LIST_HEAD(e);
}

/* Unlink e and poison it (NULL) so a use after removal faults. */
static inline void list_del(struct list_head *e)
{
	__list_del(e->prev, e->next);
	e->next = NULL;
	e->prev = NULL;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline bool list_is_singular(const struct list_head *h)
{
	return !list_empty(h) && h->next == h->prev;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(head, type, member) list_entry((head)->next, type, member)
#define list_last_entry(head, type, member) list_entry((head)->prev, type, member)
#define list_first_entry_or_null(head, type, member) \
	(list_empty(head) ? NULL : list_first_entry(head, type, member))
#define list_next_entry(pos, member) \
	list_entry((pos)->member.next, __typeof__(*(pos)), member)

#define list_for_each(pos, head) \
	for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#define list_for_each_entry(pos, head, member)                               \
	for ((pos) = list_first_entry(head, __typeof__(*(pos)), member);     \
	     &(pos)->member != (head);                                        \
	     (pos) = list_next_entry(pos, member))

/* Safe against removal of pos inside the loop body. */
#define list_for_each_entry_safe(pos, n, head, member)                       \
	for ((pos) = list_first_entry(head, __typeof__(*(pos)), member),     \
	     (n) = list_next_entry(pos, member);                              \
	     &(pos)->member != (head);                                        \
	     (pos) = (n), (n) = list_next_entry(n, member))

#endif

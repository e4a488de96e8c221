/*
 * Completions: "this has happened" for a task that waits for it.  A counter of
 * events behind a wait queue: complete() adds one event and wakes one waiter,
 * complete_all() makes every past and future wait return (until
 * reinit_completion()), wait_for_completion() sleeps until there is an event
 * and consumes it.  Completing before anyone waits is fine: the event stays.
 *
 * complete() and complete_all() may be called from interrupt context.
 */
#ifndef VIGIL_COMPLETION_H
#define VIGIL_COMPLETION_H

#include <vigil/lockdep.h>
#include <vigil/waitqueue.h>

#define COMPLETION_ALL (~0u)  /* done value after complete_all() */

struct completion {
	unsigned done;                /* events not consumed; under wait.lock */
	struct wait_queue_head wait;
};

#define COMPLETION_INITIALIZER(name) \
	{ .done = 0, .wait = WAIT_QUEUE_HEAD_INITIALIZER((name).wait) }
#define DECLARE_COMPLETION(name) struct completion name = COMPLETION_INITIALIZER(name)

void init_completion(struct completion *c);
/* Forget past events (no task may be waiting). */
void reinit_completion(struct completion *c);

void complete(struct completion *c);
void complete_all(struct completion *c);

void wait_for_completion_at(struct completion *c, const char *site);
#define wait_for_completion(c) wait_for_completion_at((c), LOCKDEP_SITE)
/* Consume an event if there is one, without sleeping. */
bool try_wait_for_completion(struct completion *c);
/* Is there an event (would wait_for_completion return at once)? */
bool completion_done(struct completion *c);

#endif

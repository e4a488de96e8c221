/*
 * Why an operation failed: a message for people and a cause for code.
 *
 * Operations that can be refused take a "why" buffer (char *why, size_t len)
 * and fill it with a sentence for the console.  Code that must react to the
 * kind of failure (stress tells resource exhaustion from a fault, tests tell
 * an injected failure from a real one) reads the cause from the return value
 * instead of searching the sentence: the wording may change, the cause not.
 *
 *     return why_fail(why, len, WHY_NOMEM, "out of memory");   returns -WHY_NOMEM
 *     int r = vm_create(&id, why, sizeof(why));
 *     if (why_cause(r) == WHY_NOMEM) ...
 *
 * A plain "return -1" is WHY_OTHER, so a function that does not classify its
 * failures still fits; pass the return value up ("return r;") so the cause
 * survives.
 */
#ifndef VIGIL_WHY_H
#define VIGIL_WHY_H

#include <vigil/types.h>

/* One size for every why buffer: enough for a nested "cpu 3: <compat
 * reason with values>" and short enough for a kernel stack. */
#define WHY_MAX 256

enum why_cause {
	WHY_NONE = 0,          /* success */
	WHY_OTHER = 1,         /* unclassified (a plain -1) */
	WHY_NOMEM,             /* an allocation failed: resource exhaustion, not a fault */
	WHY_INJECTED,          /* an armed fault-injection point made it fail */
	WHY_INCOMPATIBLE,      /* a CPU's virtualization features differ from the boot CPU's */
	WHY_OVERLAP,           /* a memory slot would overlap another (the message names it) */
	WHY_MISALIGNED,        /* an address or size is not a multiple of the page size */
	WHY_ZERO_SIZE,         /* a memory slot of size 0 */
	WHY_ADDR_WIDTH,        /* beyond the guest-physical address width */
	WHY_TOO_MANY,          /* no room for another memory slot */
	WHY_NO_SLOT,           /* no memory slot with that id (or at that address) */
	WHY_NO_VM,             /* no VM with that id */
	WHY_BAD_CHANGE,        /* a slot change that makes no sense (merge of non-neighbours...) */
	WHY_READ_ONLY,         /* a guest write to a read-only memory slot */
};

/* Format the message into why[len] and return -cause. */
__printf(4, 5) int why_fail(char *why, size_t len, enum why_cause cause, const char *fmt, ...);

/* The cause a "0 or -cause" return value carries. */
static inline enum why_cause why_cause(int rc)
{
	if (rc >= 0)
		return WHY_NONE;
	return rc < -(int)WHY_READ_ONLY ? WHY_OTHER : (enum why_cause)-rc;
}

#endif

/*
 * A hash of every page the kernel owns (each allocated page-allocator block
 * and the allocator's metadata), taken before a sleep and compared after it:
 * memory the firmware writes while the kernel sleeps shows up as a changed
 * page, named with its owner (`suspend s3 hash=1`, docs/console.md).
 *
 * Take and compare run with interrupts off and allocate nothing; the
 * snapshot is allocated beforehand with room for what is allocated then.
 */
#ifndef VIGIL_PAGE_SNAPSHOT_H
#define VIGIL_PAGE_SNAPSHOT_H

#include <vigil/types.h>

struct page_snapshot;

/* NULL when out of memory.  May sleep.  all: free pages too (to see where
 * the firmware writes, not only what it breaks; large: 16 bytes per page). */
struct page_snapshot *page_snapshot_alloc(bool all);
void page_snapshot_free(struct page_snapshot *ps);
/* Hash every owned page except [skip, skip + skip_len) (the caller's own
 * stack, which the code between take and compare writes).  False when more
 * pages are allocated than the snapshot has room for. */
bool page_snapshot_take(struct page_snapshot *ps, uint64_t skip, uint64_t skip_len);
/* Hash again and remember the pages whose contents differ (the first
 * PAGE_SNAPSHOT_MAX_CHANGED of them); prints nothing, so it may run before
 * the console is back.  Returns the number of changed pages. */
#define PAGE_SNAPSHOT_MAX_CHANGED 64
unsigned page_snapshot_compare(struct page_snapshot *ps);
unsigned page_snapshot_nr_changed(const struct page_snapshot *ps);
/* The i-th changed page of the last compare. */
uint64_t page_snapshot_changed(const struct page_snapshot *ps, unsigned i);
/* Log one line per changed page with its owner, and a summary line. */
void page_snapshot_report(const struct page_snapshot *ps, const char *prefix);
/* Pages hashed by the last take. */
unsigned page_snapshot_count(const struct page_snapshot *ps);
/* Describe who owns phys ("stack of task 'cpuhp/3'/9", "kmalloc slab", ...). */
void page_owner_describe(uint64_t phys, char *buf, size_t len);

#endif

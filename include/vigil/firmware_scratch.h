/*
 * Usable RAM that the firmware writes while the OS sleeps in S3: kept out of
 * the page allocator (core/mm/firmware_scratch.c has the rule and why).
 */
#ifndef VIGIL_FIRMWARE_SCRATCH_H
#define VIGIL_FIRMWARE_SCRATCH_H

#include <vigil/boot_info.h>
#include <vigil/types.h>

/* The largest range the rule keeps out: firmware work areas are a few pages. */
#define FIRMWARE_SCRATCH_MAX (1024 * 1024ULL)

/* True when map[i] (of a map sorted by base) is usable RAM that the rule
 * keeps out; *why then says which rule, for the log. */
bool firmware_scratch_range(const struct boot_mem_region *map, unsigned n, unsigned i, const char **why);

#endif

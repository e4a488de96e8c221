/* Kernel text symbols, generated at link time (tools/gen-ksyms.py). */
#ifndef VIGIL_KSYMS_H
#define VIGIL_KSYMS_H
#include <stdint.h>

struct ksym {
	uint64_t addr;
	const char *name;
};

extern const struct ksym ksyms[];
extern const unsigned long ksyms_count;

/* Name of the function containing addr and the offset into it; NULL if unknown. */
const char *ksym_lookup(uint64_t addr, uint64_t *offset);

#endif

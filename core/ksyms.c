/* Address -> symbol for backtraces (table generated at link time). */
#include <vigil/ksyms.h>

const char *ksym_lookup(uint64_t addr, uint64_t *offset)
{
	unsigned long lo = 0, hi = ksyms_count;
	if (!hi || addr < ksyms[0].addr)
		return 0;
	while (hi - lo > 1) {
		unsigned long mid = lo + (hi - lo) / 2;
		if (ksyms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* Past the last symbol means past the end of the text. */
	extern char __text_end[];
	if (addr >= (uint64_t)__text_end)
		return 0;
	*offset = addr - ksyms[lo].addr;
	return ksyms[lo].name;
}

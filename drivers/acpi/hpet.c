/*
 * The HPET description table (IA-PC HPET Specification 1.0a, 3.2.4, Table 3):
 * where the event timer block lives.  Optional: a fault is a warning and the
 * timer code falls back to the PIT/TSC.
 */
#include "acpi_internal.h"

#define HPET_BLOCK_ID   36   /* u32 Event Timer Block ID */
#define HPET_BASE       40   /* GAS */
#define HPET_NUMBER     52
#define HPET_MIN_TICK   53   /* u16 */
#define HPET_LEN        56

int acpi_hpet_parse(struct acpi_ctx *c, uint64_t phys, const uint8_t *t, uint32_t len)
{
	struct acpi_info *out = c->out;
	struct acpi_gas base;

	if (len < HPET_LEN)
		return acpi_faultf(c, ACPI_ELENGTH, "HPET: length %u smaller than %u", len, HPET_LEN);
	base = acpi_rd_gas(t + HPET_BASE);
	/* The HPET registers are memory-mapped (HPET spec 2.3). */
	if (base.space_id != ACPI_GAS_MEMORY)
		return acpi_faultf(c, ACPI_EMALFORMED,
				   "HPET: base address in address space %u, not system memory",
				   base.space_id);
	if (base.address == 0 || !IS_ALIGNED(base.address, 1024))
		return acpi_faultf(c, ACPI_EMALFORMED, "HPET: bad base address 0x%llx",
				   (unsigned long long)base.address);
	out->has_hpet = true;
	out->hpet_phys = phys;
	out->hpet_base = base.address;
	out->hpet_block_id = acpi_rd32(t + HPET_BLOCK_ID);
	out->hpet_number = t[HPET_NUMBER];
	out->hpet_min_tick = acpi_rd16(t + HPET_MIN_TICK);
	return 0;
}

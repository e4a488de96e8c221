/*
 * The Serial Port Console Redirection table (Microsoft SPCR specification,
 * revisions 1-4): which UART the firmware used as its console, so vigil can
 * pick the same one when no console= was given.  Optional: a fault is a
 * warning.
 */
#include "acpi_internal.h"

#define SPCR_INTERFACE   36
#define SPCR_BASE        40   /* GAS */
#define SPCR_IRQ_TYPE    52
#define SPCR_IRQ         53
#define SPCR_GSI         54   /* u32 */
#define SPCR_BAUD        58
#define SPCR_PARITY      59
#define SPCR_STOP_BITS   60
#define SPCR_FLOW        61
#define SPCR_TERMINAL    62
#define SPCR_LEN         80   /* revisions 1 and 2 */
#define SPCR_PRECISE     80   /* u32, revision 4 */

/* "Configured Baud Rate": 0 means "as is" (keep the firmware's setting). */
static bool baud_code(uint8_t code, uint32_t *baud)
{
	switch (code) {
	case 0: *baud = 0;      return true;
	case 3: *baud = 9600;   return true;
	case 4: *baud = 19200;  return true;
	case 6: *baud = 57600;  return true;
	case 7: *baud = 115200; return true;
	default: return false;
	}
}

int acpi_spcr_parse(struct acpi_ctx *c, uint64_t phys __unused, const uint8_t *t, uint32_t len)
{
	struct acpi_info *out = c->out;
	struct acpi_gas base;
	uint32_t baud;

	if (len < SPCR_LEN)
		return acpi_faultf(c, ACPI_ELENGTH, "SPCR: length %u smaller than %u", len, SPCR_LEN);
	base = acpi_rd_gas(t + SPCR_BASE);
	/* A zero address means console redirection is disabled. */
	if (base.address == 0)
		return 0;
	if (base.space_id != ACPI_GAS_MEMORY && base.space_id != ACPI_GAS_IO)
		return acpi_faultf(c, ACPI_EMALFORMED,
				   "SPCR: base address in address space %u, not memory or I/O",
				   base.space_id);
	if (!baud_code(t[SPCR_BAUD], &baud)) {
		acpi_warn(c, "SPCR: reserved baud rate code %u; keeping the current rate",
			  t[SPCR_BAUD]);
		baud = 0;
	}
	/* Revision 4: a non-zero Precise Baud Rate overrides the code. */
	if (t[ACPI_HDR_REVISION] >= 4 && len >= SPCR_PRECISE + 4 && acpi_rd32(t + SPCR_PRECISE))
		baud = acpi_rd32(t + SPCR_PRECISE);

	out->has_spcr = true;
	out->spcr_revision = t[ACPI_HDR_REVISION];
	out->spcr_interface = t[SPCR_INTERFACE];
	out->spcr_base = base;
	out->spcr_irq_type = t[SPCR_IRQ_TYPE];
	out->spcr_irq = t[SPCR_IRQ];
	out->spcr_gsi = acpi_rd32(t + SPCR_GSI);
	out->spcr_baud = baud;
	out->spcr_parity = t[SPCR_PARITY];
	out->spcr_stop_bits = t[SPCR_STOP_BITS];
	out->spcr_flow = t[SPCR_FLOW];
	out->spcr_terminal = t[SPCR_TERMINAL];
	return 0;
}

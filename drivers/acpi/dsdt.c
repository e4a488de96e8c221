/*
 * The Differentiated System Description Table (ACPI 6.5 5.2.11.1).  vigil
 * has no AML interpreter; all it needs from the DSDT are the \_S3 and \_S5
 * sleep-type packages (7.4.2), found by a bounded scan (aml_sleep.c), and
 * QEMU's CPU-hotplug register block (aml_cpuhp.c).
 */
#include "acpi_internal.h"

static void find_sleep(struct acpi_ctx *c, const uint8_t *t, uint32_t len, const char *name,
		       struct acpi_sleep_type *st)
{
	char msg[ACPI_FAULT_LEN - 8];

	if (acpi_aml_sleep_scan(t + ACPI_HDR_LEN, len - ACPI_HDR_LEN, name, ACPI_HDR_LEN, st, msg,
				sizeof(msg)) < 0)
		acpi_warn(c, "DSDT: %s", msg);
}

int acpi_dsdt_parse(struct acpi_ctx *c, uint64_t phys)
{
	struct acpi_info *out = c->out;
	const uint8_t *t;
	uint32_t len;
	int rc;

	t = acpi_get_table(c, phys, "DSDT", "DSDT", &len, &rc);
	if (!t)
		return rc;
	out->has_dsdt = true;
	out->dsdt_length = len;
	find_sleep(c, t, len, "_S3_", &out->s3);
	find_sleep(c, t, len, "_S5_", &out->s5);
	char msg[ACPI_FAULT_LEN - 8];
	if (acpi_aml_cpuhp_scan(t + ACPI_HDR_LEN, len - ACPI_HDR_LEN, ACPI_HDR_LEN, &out->cpuhp_port, msg,
				sizeof(msg)) < 0)
		acpi_warn(c, "DSDT: %s", msg);
	return 0;
}

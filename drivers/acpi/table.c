/*
 * Reaching and validating one table: the checked mapper, the checksum, the
 * System Description Table Header checks (ACPI 6.5 5.2.6) and the table
 * listing kept for the `acpi` command.
 */
#include <vigil/string.h>

#include "acpi_internal.h"

uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

bool acpi_sig_is(const uint8_t *p, const char *sig)
{
	return memcmp(p, sig, 4) == 0;
}

static void printable(char *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[n] = '\0';
}

const char *acpi_table_name(const uint8_t *sig, char buf[5])
{
	/* The MADT and FADT carry historical signatures (5.2.12, 5.2.9);
	 * messages use the names people know. */
	if (acpi_sig_is(sig, "APIC"))
		return "MADT";
	if (acpi_sig_is(sig, "FACP"))
		return "FADT";
	printable(buf, sig, 4);
	return buf;
}

const uint8_t *acpi_map(struct acpi_ctx *c, uint64_t phys, size_t len)
{
	if (len == 0 || phys > UINT64_MAX - (len - 1))
		return NULL;
	return c->m->map(phys, len, c->m->ctx);
}

struct acpi_table_desc *acpi_record_table(struct acpi_ctx *c, uint64_t phys, const uint8_t *sig,
					  const uint8_t *hdr, uint32_t length)
{
	struct acpi_info *out = c->out;
	struct acpi_table_desc *d;

	for (uint32_t i = 0; i < out->nr_tables; i++)
		if (out->tables[i].phys == phys)
			return &out->tables[i];
	if (out->nr_tables >= ACPI_MAX_TABLES)
		return NULL;
	d = &out->tables[out->nr_tables++];
	memset(d, 0, sizeof(*d));
	d->phys = phys;
	d->length = length;
	printable(d->signature, sig, 4);
	if (hdr) {
		d->revision = hdr[ACPI_HDR_REVISION];
		printable(d->oem_id, hdr + ACPI_HDR_OEMID, 6);
		printable(d->oem_table_id, hdr + ACPI_HDR_OEMTABLE, 8);
	}
	return d;
}

const uint8_t *acpi_get_table(struct acpi_ctx *c, uint64_t phys, const char *expect,
			      const char *name, uint32_t *len, int *rc)
{
	struct acpi_table_desc *d;
	const uint8_t *h, *t;
	char sigbuf[5];
	uint32_t length;
	uint8_t sum;

	h = acpi_map(c, phys, ACPI_HDR_LEN);
	if (!h) {
		*rc = acpi_faultf(c, ACPI_EMAP, "%s: cannot map header at 0x%llx", name,
				  (unsigned long long)phys);
		return NULL;
	}
	length = acpi_rd32(h + ACPI_HDR_LENGTH);
	d = acpi_record_table(c, phys, h, h, length);

	if (expect && !acpi_sig_is(h, expect)) {
		printable(sigbuf, h, 4);
		*rc = acpi_faultf(c, ACPI_ESIGNATURE, "%s: bad signature \"%s\" at 0x%llx", name,
				  sigbuf, (unsigned long long)phys);
		return NULL;
	}
	if (length < ACPI_HDR_LEN) {
		*rc = acpi_faultf(c, ACPI_ELENGTH, "%s: length %u smaller than header", name,
				  length);
		return NULL;
	}
	if (length > ACPI_MAX_TABLE_LEN) {
		*rc = acpi_faultf(c, ACPI_ELENGTH, "%s: length %u exceeds the %u-byte limit", name,
				  length, ACPI_MAX_TABLE_LEN);
		return NULL;
	}
	t = acpi_map(c, phys, length);
	if (!t) {
		*rc = acpi_faultf(c, ACPI_EMAP, "%s: cannot map %u bytes at 0x%llx", name, length,
				  (unsigned long long)phys);
		return NULL;
	}
	/* 5.2.6: "the entire table, including the checksum field, must add to
	 * zero to be considered valid". */
	sum = acpi_sum(t, length);
	if (sum) {
		*rc = acpi_faultf(c, ACPI_ECHECKSUM, "%s: checksum mismatch (sum 0x%02x)", name, sum);
		return NULL;
	}
	if (d)
		d->valid = true;
	*len = length;
	*rc = 0;
	return t;
}

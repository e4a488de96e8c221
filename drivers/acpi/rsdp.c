/*
 * The Root System Description Pointer (ACPI 6.5 5.2.5): validating it,
 * choosing the root table, and finding it in the legacy BIOS areas when the
 * loader handed us none.
 */
#include <vigil/string.h>

#include "acpi_internal.h"

/* RSDP layout (5.2.5.3, Table 5.3). */
#define RSDP_SIG          "RSD PTR "
#define RSDP_V1_LEN       20   /* the ACPI 1.0 part, covered by Checksum */
#define RSDP_V2_LEN       36
#define RSDP_OEMID        9
#define RSDP_REVISION     15
#define RSDP_RSDT         16   /* u32 */
#define RSDP_LENGTH       20   /* u32, revision >= 2 */
#define RSDP_XSDT         24   /* u64, revision >= 2 */
/* The RSDP is 36 bytes in every revision so far; anything much larger is
 * garbage, not a future extension worth mapping. */
#define RSDP_MAX_LEN      1024

/*
 * Check the RSDP at phys.  Returns 0 and (when p2 is not NULL) the mapped
 * structure, or an ACPI_E* code with the fault recorded in c.
 */
static int rsdp_check(struct acpi_ctx *c, uint64_t phys, const uint8_t **p2)
{
	const uint8_t *p;
	uint32_t length;
	uint8_t sum;

	p = acpi_map(c, phys, RSDP_V1_LEN);
	if (!p)
		return acpi_faultf(c, ACPI_EMAP, "RSDP: cannot map 0x%llx", (unsigned long long)phys);
	if (memcmp(p, RSDP_SIG, 8) != 0)
		return acpi_faultf(c, ACPI_ESIGNATURE, "RSDP: bad signature at 0x%llx",
				   (unsigned long long)phys);
	/* 5.2.5.3: Checksum covers the first 20 bytes (the ACPI 1.0 RSDP). */
	sum = acpi_sum(p, RSDP_V1_LEN);
	if (sum)
		return acpi_faultf(c, ACPI_ECHECKSUM, "RSDP: checksum mismatch (sum 0x%02x)", sum);
	/* Revision 0 is ACPI 1.0 (no Length, XsdtAddress or extended
	 * checksum); 2 is ACPI 2.0 and later.  Treat anything below 2 as 1.0. */
	if (p[RSDP_REVISION] >= 2) {
		p = acpi_map(c, phys, RSDP_V2_LEN);
		if (!p)
			return acpi_faultf(c, ACPI_EMAP, "RSDP: cannot map the %u-byte ACPI 2.0 RSDP",
					   RSDP_V2_LEN);
		length = acpi_rd32(p + RSDP_LENGTH);
		if (length < RSDP_V2_LEN)
			return acpi_faultf(c, ACPI_ELENGTH, "RSDP: length %u smaller than %u",
					   length, RSDP_V2_LEN);
		if (length > RSDP_MAX_LEN)
			return acpi_faultf(c, ACPI_ELENGTH, "RSDP: length %u exceeds %u", length,
					   RSDP_MAX_LEN);
		p = acpi_map(c, phys, length);
		if (!p)
			return acpi_faultf(c, ACPI_EMAP, "RSDP: cannot map %u bytes", length);
		/* Extended Checksum covers the whole structure. */
		sum = acpi_sum(p, length);
		if (sum)
			return acpi_faultf(c, ACPI_ECHECKSUM,
					   "RSDP: extended checksum mismatch (sum 0x%02x)", sum);
	}
	if (p2)
		*p2 = p;
	return 0;
}

int acpi_rsdp_parse(struct acpi_ctx *c, uint64_t rsdp_phys)
{
	struct acpi_info *out = c->out;
	const uint8_t *p;
	uint64_t xsdt = 0;
	uint32_t rsdt;
	int rc;

	if (rsdp_phys == 0)
		return acpi_faultf(c, ACPI_ENOTFOUND, "RSDP: no RSDP address");
	rc = rsdp_check(c, rsdp_phys, &p);
	if (rc)
		return rc;

	out->rsdp_phys = rsdp_phys;
	out->rsdp_revision = p[RSDP_REVISION];
	for (int i = 0; i < 6; i++) {
		uint8_t ch = p[RSDP_OEMID + i];

		out->oem_id[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	out->oem_id[6] = '\0';

	rsdt = acpi_rd32(p + RSDP_RSDT);
	if (out->rsdp_revision >= 2)
		xsdt = acpi_rd64(p + RSDP_XSDT);
	/* 5.2.5.3: "An ACPI-compatible OS must use the XSDT if present" -- the
	 * XSDT supersedes the RSDT, which holds only 32-bit pointers. */
	if (xsdt) {
		out->root_is_xsdt = true;
		out->root_phys = xsdt;
	} else if (rsdt) {
		out->root_is_xsdt = false;
		out->root_phys = rsdt;
	} else {
		return acpi_faultf(c, ACPI_ENOTFOUND, "RSDP: neither an XSDT nor an RSDT address");
	}
	return 0;
}

/* BIOS Data Area word holding the EBDA segment (5.2.5.1). */
#define BDA_EBDA_SEG   0x40E
#define EBDA_SCAN_LEN  1024
#define BIOS_ROM_START 0xE0000
#define BIOS_ROM_END   0x100000

static int scan_area(struct acpi_ctx *c, uint64_t start, uint64_t end, uint64_t *found)
{
	/* 5.2.5.1: the RSDP sits on a 16-byte boundary.  Each candidate is
	 * mapped on its own so an area that cannot be mapped in one piece is
	 * still scanned as far as it can be. */
	for (uint64_t a = ALIGN_UP(start, 16); a + 16 <= end; a += 16) {
		const uint8_t *p = acpi_map(c, a, 8);

		if (!p || memcmp(p, RSDP_SIG, 8) != 0)
			continue;
		if (rsdp_check(c, a, NULL) == 0) {
			*found = a;
			return 0;
		}
	}
	return ACPI_ENOTFOUND;
}

int acpi_find_rsdp_bios(const struct acpi_mapper *m, uint64_t *rsdp_phys)
{
	/* rsdp_check() records faults only in the context, never in out. */
	struct acpi_ctx c = { .m = m, .out = NULL };
	const uint8_t *bda;
	uint64_t found;

	if (!m || !m->map || !rsdp_phys)
		return ACPI_EINVAL;
	bda = acpi_map(&c, BDA_EBDA_SEG, 2);
	if (bda) {
		uint64_t ebda = (uint64_t)acpi_rd16(bda) << 4;

		/* A zero or nonsense segment means no EBDA: it must lie in
		 * conventional memory, below the 640 KiB hole. */
		if (ebda >= 0x500 && ebda < 0xA0000 &&
		    scan_area(&c, ebda, MIN(ebda + EBDA_SCAN_LEN, (uint64_t)0xA0000), &found) == 0) {
			*rsdp_phys = found;
			return 0;
		}
	}
	if (scan_area(&c, BIOS_ROM_START, BIOS_ROM_END, &found) == 0) {
		*rsdp_phys = found;
		return 0;
	}
	return ACPI_ENOTFOUND;
}

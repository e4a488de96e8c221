/*
 * acpi_parse(): walk the RSDP and the root table (XSDT or RSDT, ACPI 6.5
 * 5.2.7/5.2.8), validate every table listed, and hand the ones the kernel
 * uses to their parsers, applying the error policy documented in
 * include/vigil/acpi.h.
 */
#include <vigil/string.h>

#include "acpi_internal.h"

/* Real root tables list a few dozen tables.  The cap bounds the work (the
 * repeat check below is quadratic) when a corrupt length passes the
 * checksum by chance. */
#define MAX_ROOT_ENTRIES 512

/* A table found through the root table, first occurrence of its kind. */
struct found {
	uint64_t phys;
	const uint8_t *t;
	uint32_t len;
};

/* The tables the kernel parses: one of each is meaningful, so a second copy
 * is ignored with a warning. */
enum { T_FADT, T_MADT, T_HPET, T_SPCR, T_COUNT };
static const char *const wanted_sig[T_COUNT] = { "FACP", "APIC", "HPET", "SPCR" };

static int wanted_index(const uint8_t *sig)
{
	for (int i = 0; i < T_COUNT; i++)
		if (acpi_sig_is(sig, wanted_sig[i]))
			return i;
	return -1;
}

static uint64_t root_entry(const uint8_t *t, bool xsdt, uint32_t i)
{
	return xsdt ? acpi_rd64(t + ACPI_HDR_LEN + 8 * i) : acpi_rd32(t + ACPI_HDR_LEN + 4 * i);
}

/*
 * Validate one entry of the root table and, if the kernel wants it, keep it
 * in found[].  Returns 0, or a fatal code (fault recorded) when a table the
 * kernel cannot run without is broken.
 */
static int root_one(struct acpi_ctx *c, const char *root, uint32_t i, uint64_t phys,
		    struct found *found)
{
	const uint8_t *h, *t;
	char namebuf[5];
	const char *name;
	uint32_t len;
	int kind, rc;
	bool fatal;

	h = acpi_map(c, phys, ACPI_HDR_LEN);
	if (!h) {
		acpi_warn(c, "%s: entry %u (0x%llx) cannot be mapped; skipped", root, i,
			  (unsigned long long)phys);
		return 0;
	}
	name = acpi_table_name(h, namebuf);
	kind = wanted_index(h);
	/* Only the first MADT and FADT are load-bearing; a broken duplicate is
	 * ignored like any other duplicate. */
	fatal = (kind == T_MADT || kind == T_FADT) && !found[kind].phys;

	t = acpi_get_table(c, phys, NULL, name, &len, &rc);
	if (!t) {
		if (fatal)
			return rc;
		acpi_fault_to_warning(c);
		return 0;
	}
	if (kind < 0)
		return 0;
	if (found[kind].phys) {
		/* A broken duplicate MADT is worth naming precisely: firmware
		 * (or a test) that lists it may be describing CPUs wrongly. */
		if (kind == T_MADT && acpi_madt_check(c, t, len))
			acpi_fault_to_warning(c);
		acpi_warn(c, "%s: second %s at 0x%llx ignored (using 0x%llx)", root, name,
			  (unsigned long long)phys, (unsigned long long)found[kind].phys);
		return 0;
	}
	found[kind].phys = phys;
	found[kind].t = t;
	found[kind].len = len;
	return 0;
}

static int parse_root(struct acpi_ctx *c, struct found *found)
{
	struct acpi_info *out = c->out;
	const char *root = out->root_is_xsdt ? "XSDT" : "RSDT";
	uint32_t esz = out->root_is_xsdt ? 8 : 4;
	const uint8_t *t;
	uint32_t len, n;
	int rc;

	t = acpi_get_table(c, out->root_phys, root, root, &len, &rc);
	if (!t)
		return rc;
	/* 5.2.7/5.2.8: the entries fill the rest of the table exactly. */
	if ((len - ACPI_HDR_LEN) % esz)
		return acpi_faultf(c, ACPI_ELENGTH, "%s: length %u is not 36 plus a multiple of %u",
				   root, len, esz);
	n = (len - ACPI_HDR_LEN) / esz;
	if (n > MAX_ROOT_ENTRIES) {
		acpi_warn(c, "%s: %u entries; only the first %u examined", root, n,
			  MAX_ROOT_ENTRIES);
		n = MAX_ROOT_ENTRIES;
	}

	for (uint32_t i = 0; i < n; i++) {
		uint64_t phys = root_entry(t, out->root_is_xsdt, i);
		bool repeat = false;

		if (!phys) {
			acpi_warn(c, "%s: entry %u is null; skipped", root, i);
			continue;
		}
		for (uint32_t j = 0; j < i && !repeat; j++)
			repeat = root_entry(t, out->root_is_xsdt, j) == phys;
		if (repeat) {
			acpi_warn(c, "%s: entry %u repeats table 0x%llx; skipped", root, i,
				  (unsigned long long)phys);
			continue;
		}
		rc = root_one(c, root, i, phys, found);
		if (rc)
			return rc;
	}
	return 0;
}

int acpi_parse(uint64_t rsdp_phys, const struct acpi_mapper *m, struct acpi_info *out,
	       char *err, size_t errlen)
{
	struct acpi_ctx c = { .m = m, .out = out, .err = err, .errlen = errlen };
	struct found found[T_COUNT];
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!m || !m->map || !out) {
		acpi_faultf(&c, ACPI_EINVAL, "ACPI: no mapper or output");
		return acpi_fatal(&c, ACPI_EINVAL);
	}
	memset(out, 0, sizeof(*out));
	memset(found, 0, sizeof(found));

	rc = acpi_rsdp_parse(&c, rsdp_phys);
	if (rc)
		return acpi_fatal(&c, rc);
	rc = parse_root(&c, found);
	if (rc)
		return acpi_fatal(&c, rc);

	/* FADT before MADT: whether the MADT online-capable flag is defined
	 * depends on the FADT version (see madt.c). */
	if (found[T_FADT].phys) {
		rc = acpi_fadt_parse(&c, found[T_FADT].phys, found[T_FADT].t, found[T_FADT].len);
		if (rc)
			return acpi_fatal(&c, rc);
		/* The FACS and DSDT serve S3 and S5 only: warnings. */
		if (out->facs_phys && acpi_facs_parse(&c, out->facs_phys))
			acpi_fault_to_warning(&c);
		if (out->dsdt_phys && acpi_dsdt_parse(&c, out->dsdt_phys))
			acpi_fault_to_warning(&c);
	} else {
		/* 5.2.9 requires a FADT; without one there is no power
		 * management, but CPUs can still be brought up. */
		acpi_warn(&c, "FADT: not found; no ACPI power management");
	}

	if (!found[T_MADT].phys) {
		acpi_faultf(&c, ACPI_ENOTFOUND, "MADT: not found in the %s",
			    out->root_is_xsdt ? "XSDT" : "RSDT");
		return acpi_fatal(&c, ACPI_ENOTFOUND);
	}
	rc = acpi_madt_parse(&c, found[T_MADT].phys, found[T_MADT].t, found[T_MADT].len);
	if (rc)
		return acpi_fatal(&c, rc);

	if (found[T_HPET].phys &&
	    acpi_hpet_parse(&c, found[T_HPET].phys, found[T_HPET].t, found[T_HPET].len))
		acpi_fault_to_warning(&c);
	if (found[T_SPCR].phys &&
	    acpi_spcr_parse(&c, found[T_SPCR].phys, found[T_SPCR].t, found[T_SPCR].len))
		acpi_fault_to_warning(&c);
	return 0;
}

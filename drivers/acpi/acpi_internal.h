/*
 * Shared by the files of drivers/acpi/ only: the parse context, the fault
 * and warning plumbing, the checked table mapper and little-endian field
 * readers.  Nothing here is part of the kernel-wide interface
 * (include/vigil/acpi.h is).
 */
#ifndef VIGIL_DRIVERS_ACPI_INTERNAL_H
#define VIGIL_DRIVERS_ACPI_INTERNAL_H

#include <vigil/acpi.h>
#include <vigil/types.h>

/* System Description Table Header (ACPI 6.5 5.2.6): every table but the RSDP
 * and the FACS starts with these 36 bytes. */
#define ACPI_HDR_LEN       36
#define ACPI_HDR_LENGTH    4   /* u32 */
#define ACPI_HDR_REVISION  8   /* u8 */
#define ACPI_HDR_CHECKSUM  9   /* u8: whole table sums to 0 */
#define ACPI_HDR_OEMID     10  /* 6 bytes */
#define ACPI_HDR_OEMTABLE  16  /* 8 bytes */

#define ACPI_FAULT_LEN 128

/*
 * One parse.  A check that fails records its message in fault[] and returns
 * its ACPI_E* code; the caller then decides whether the fault is fatal
 * (acpi_fatal: copy to the caller's err buffer and stop) or a warning
 * (acpi_fault_to_warning: append to out->warnings and skip the table).
 */
struct acpi_ctx {
	const struct acpi_mapper *m;
	struct acpi_info *out;
	char *err;
	size_t errlen;
	char fault[ACPI_FAULT_LEN];
};

/* Little-endian reads from byte pointers: tables have no alignment
 * guarantee (the XSDT's 64-bit entries sit at offset 36, for one). */
static inline uint16_t acpi_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t acpi_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t acpi_rd64(const uint8_t *p)
{
	return (uint64_t)acpi_rd32(p) | (uint64_t)acpi_rd32(p + 4) << 32;
}

/* Generic Address Structure, 12 bytes (5.2.3.2). */
#define ACPI_GAS_LEN 12
static inline struct acpi_gas acpi_rd_gas(const uint8_t *p)
{
	struct acpi_gas g = {
		.space_id = p[0], .bit_width = p[1], .bit_offset = p[2],
		.access_size = p[3], .address = acpi_rd64(p + 4),
	};
	return g;
}

/* Byte sum of a range: valid ACPI structures sum to 0 (mod 256). */
uint8_t acpi_sum(const uint8_t *p, size_t len);

/* True when the 4 bytes at p equal sig. */
bool acpi_sig_is(const uint8_t *p, const char *sig);

/* The name used in messages for a 4-byte signature: "MADT" for "APIC",
 * "FADT" for "FACP", otherwise the signature with non-printable bytes as
 * '?'.  buf gets 5 bytes. */
const char *acpi_table_name(const uint8_t *sig, char buf[5]);

/* Map [phys, phys + len) through the mapper; NULL when the range wraps or
 * the mapper refuses it. */
const uint8_t *acpi_map(struct acpi_ctx *c, uint64_t phys, size_t len);

/* Record a fault message; returns code. */
__printf(3, 4) int acpi_faultf(struct acpi_ctx *c, int code, const char *fmt, ...);
/* The recorded fault is fatal: copy it to the caller's err; returns code. */
int acpi_fatal(struct acpi_ctx *c, int code);
/* The recorded fault is only a warning. */
void acpi_fault_to_warning(struct acpi_ctx *c);
/* Append a warning to out->warnings (counted in warnings_lost when full). */
__printf(2, 3) void acpi_warn(struct acpi_ctx *c, const char *fmt, ...);

/* Remember a table in out->tables (once per physical address).  hdr points
 * at a 36-byte header, or is NULL for the FACS (sig given separately).
 * Returns the entry or NULL when the list is full. */
struct acpi_table_desc *acpi_record_table(struct acpi_ctx *c, uint64_t phys, const uint8_t *sig,
					  const uint8_t *hdr, uint32_t length);

/*
 * Map and validate a table with a standard header at phys: signature (when
 * expect is not NULL), length >= 36 and <= ACPI_MAX_TABLE_LEN, the whole
 * length mappable, checksum.  name is used in fault messages.  On success
 * returns the mapped table and its length in *len; on failure NULL, the
 * fault recorded and its code in *rc.  The table is recorded in out->tables
 * either way once its header could be read.
 */
const uint8_t *acpi_get_table(struct acpi_ctx *c, uint64_t phys, const char *expect,
			      const char *name, uint32_t *len, int *rc);

/* Per-table parsers (one file each).  Each returns 0 or an ACPI_E* code with
 * the fault recorded; the caller applies the error policy. */
int acpi_rsdp_parse(struct acpi_ctx *c, uint64_t rsdp_phys);
int acpi_fadt_parse(struct acpi_ctx *c, uint64_t phys, const uint8_t *t, uint32_t len);
int acpi_facs_parse(struct acpi_ctx *c, uint64_t phys);
int acpi_dsdt_parse(struct acpi_ctx *c, uint64_t phys);
int acpi_madt_parse(struct acpi_ctx *c, uint64_t phys, const uint8_t *t, uint32_t len);
/* Only check the entry structure (for a duplicate MADT that is ignored). */
int acpi_madt_check(struct acpi_ctx *c, const uint8_t *t, uint32_t len);
int acpi_hpet_parse(struct acpi_ctx *c, uint64_t phys, const uint8_t *t, uint32_t len);
int acpi_spcr_parse(struct acpi_ctx *c, uint64_t phys, const uint8_t *t, uint32_t len);

/* The \_Sx scan behind acpi_aml_find_sleep_type(); base is added to the
 * offsets in messages (36 when aml is a DSDT body, so offsets are table
 * offsets). */
int acpi_aml_cpuhp_scan(const uint8_t *aml, size_t len, size_t base, uint16_t *port, char *msg,
			size_t msglen);
int acpi_aml_sleep_scan(const uint8_t *aml, size_t len, const char name[4], size_t base,
			struct acpi_sleep_type *st, char *msg, size_t msglen);

#endif

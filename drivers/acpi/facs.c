/*
 * The Firmware ACPI Control Structure (ACPI 6.5 5.2.10, Table 5.14): the
 * firmware waking vectors and the global lock.  The FACS has no checksum
 * (the OS writes into it), only a signature and a length.  The kernel keeps
 * its physical address to write the waking vector before entering S3.
 */
#include "acpi_internal.h"

#define FACS_MIN_LEN          64
#define FACS_LENGTH           4   /* u32 */
#define FACS_HW_SIGNATURE     8   /* u32 */
#define FACS_FW_WAKING_VECTOR 12  /* u32 */
#define FACS_GLOBAL_LOCK      16  /* u32 */
#define FACS_FLAGS            20  /* u32 */
#define FACS_X_FW_WAKING      24  /* u64, version >= 1 */
#define FACS_VERSION          32

int acpi_facs_parse(struct acpi_ctx *c, uint64_t phys)
{
	struct acpi_info *out = c->out;
	struct acpi_table_desc *d;
	const uint8_t *f;
	uint32_t len;

	f = acpi_map(c, phys, 8);
	if (!f)
		return acpi_faultf(c, ACPI_EMAP, "FACS: cannot map 0x%llx", (unsigned long long)phys);
	len = acpi_rd32(f + FACS_LENGTH);
	d = acpi_record_table(c, phys, f, NULL, len);
	if (!acpi_sig_is(f, "FACS"))
		return acpi_faultf(c, ACPI_ESIGNATURE, "FACS: bad signature at 0x%llx",
				   (unsigned long long)phys);
	if (len < FACS_MIN_LEN)
		return acpi_faultf(c, ACPI_ELENGTH, "FACS: length %u smaller than %u", len,
				   FACS_MIN_LEN);
	if (len > ACPI_MAX_TABLE_LEN)
		return acpi_faultf(c, ACPI_ELENGTH, "FACS: length %u exceeds the %u-byte limit", len,
				   ACPI_MAX_TABLE_LEN);
	f = acpi_map(c, phys, FACS_MIN_LEN);
	if (!f)
		return acpi_faultf(c, ACPI_EMAP, "FACS: cannot map %u bytes at 0x%llx", FACS_MIN_LEN,
				   (unsigned long long)phys);
	/* 5.2.10: "aligned on a 64-byte boundary".  Misalignment does not stop
	 * us reading it, but it hints at a wrong pointer. */
	if (!IS_ALIGNED(phys, 64))
		acpi_warn(c, "FACS: at 0x%llx, not 64-byte aligned", (unsigned long long)phys);

	out->has_facs = true;
	out->facs_length = len;
	out->facs_hw_signature = acpi_rd32(f + FACS_HW_SIGNATURE);
	out->facs_flags = acpi_rd32(f + FACS_FLAGS);
	out->facs_version = f[FACS_VERSION];
	out->fw_waking_vector = acpi_rd32(f + FACS_FW_WAKING_VECTOR);
	out->fw_waking_vector_phys = phys + FACS_FW_WAKING_VECTOR;
	out->global_lock_phys = phys + FACS_GLOBAL_LOCK;
	/* X_Firmware_Waking_Vector exists from FACS version 1 (ACPI 2.0). */
	if (out->facs_version >= 1) {
		out->x_fw_waking_vector = acpi_rd64(f + FACS_X_FW_WAKING);
		out->x_fw_waking_vector_phys = phys + FACS_X_FW_WAKING;
	}
	if (d)
		d->valid = true;
	return 0;
}

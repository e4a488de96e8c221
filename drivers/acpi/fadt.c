/*
 * The Fixed ACPI Description Table (ACPI 6.5 5.2.9, Table 5.9): the
 * power-management register blocks, the SCI, the reset register and the
 * pointers to the DSDT and FACS.
 *
 * The FADT grew over the versions; which fields exist is decided by the
 * table length, not the revision (firmware is not always consistent about
 * the revision, and the length is what bounds our reads).
 */
#include <vigil/string.h>

#include "acpi_internal.h"

/* Field offsets (Table 5.9). */
#define FADT_FIRMWARE_CTRL   36   /* u32 */
#define FADT_DSDT            40   /* u32 */
#define FADT_SCI_INT         46   /* u16 */
#define FADT_SMI_CMD         48   /* u32 */
#define FADT_ACPI_ENABLE     52
#define FADT_ACPI_DISABLE    53
#define FADT_PM1A_EVT_BLK    56   /* u32 each */
#define FADT_PM1B_EVT_BLK    60
#define FADT_PM1A_CNT_BLK    64
#define FADT_PM1B_CNT_BLK    68
#define FADT_PM_TMR_BLK      76
#define FADT_GPE0_BLK        80
#define FADT_PM1_EVT_LEN     88
#define FADT_PM1_CNT_LEN     89
#define FADT_PM_TMR_LEN      91
#define FADT_GPE0_BLK_LEN    92
#define FADT_CENTURY         108
#define FADT_IAPC_BOOT_ARCH  109  /* u16 */
#define FADT_FLAGS           112  /* u32 */
#define FADT_V1_LEN          116  /* ACPI 1.0 FADT ends here */
#define FADT_RESET_REG       116  /* GAS */
#define FADT_RESET_VALUE     128
#define FADT_MINOR_VERSION   131
#define FADT_X_FIRMWARE_CTRL 132  /* u64 */
#define FADT_X_DSDT          140  /* u64 */
#define FADT_X_PM1A_EVT_BLK  148  /* GAS each */
#define FADT_X_PM1B_EVT_BLK  160
#define FADT_X_PM1A_CNT_BLK  172
#define FADT_X_PM1B_CNT_BLK  184
#define FADT_X_PM_TMR_BLK    208
#define FADT_X_GPE0_BLK      220

/* True when the table is long enough to hold size bytes at off. */
static bool has(uint32_t len, uint32_t off, uint32_t size)
{
	return off + size <= len;
}

/*
 * A register block: the X_ GAS when present with a non-zero address (5.2.9:
 * "if non-zero, OSPM uses this field in place of" the 32-bit one), else the
 * 32-bit block, which is always a system I/O port address.
 */
static struct acpi_gas block(const uint8_t *t, uint32_t len, uint32_t off32, uint32_t xoff,
			     uint8_t blen)
{
	struct acpi_gas g = { 0 };

	if (has(len, xoff, ACPI_GAS_LEN)) {
		g = acpi_rd_gas(t + xoff);
		if (g.address) {
			/* Some firmware leaves the X_ width 0; the 32-bit
			 * length field still tells the size. */
			if (!g.bit_width)
				g.bit_width = (uint8_t)(blen * 8);
			return g;
		}
	}
	memset(&g, 0, sizeof(g));
	g.address = acpi_rd32(t + off32);
	if (g.address) {
		g.space_id = ACPI_GAS_IO;
		g.bit_width = (uint8_t)(blen * 8);
	}
	return g;
}

/* 5.2.9 RESET_REG: "Only System I/O space, System Memory space and PCI
 * Configuration space (bus #0) are valid ... Register_Bit_Width must be 8
 * and Register_Bit_Offset must be 0". */
static void parse_reset(struct acpi_ctx *c, const uint8_t *t, uint32_t len)
{
	struct acpi_info *out = c->out;
	struct acpi_gas g;

	if (!(out->fadt_flags & ACPI_FADT_RESET_REG_SUP) || !has(len, FADT_RESET_VALUE, 1))
		return;
	g = acpi_rd_gas(t + FADT_RESET_REG);
	if (g.address == 0 || g.bit_width != 8 || g.bit_offset != 0 ||
	    (g.space_id != ACPI_GAS_MEMORY && g.space_id != ACPI_GAS_IO &&
	     g.space_id != ACPI_GAS_PCI_CFG)) {
		acpi_warn(c, "FADT: reset register unusable (space %u, width %u, offset %u, addr 0x%llx)",
			  g.space_id, g.bit_width, g.bit_offset, (unsigned long long)g.address);
		return;
	}
	out->has_reset_reg = true;
	out->reset_reg = g;
	out->reset_value = t[FADT_RESET_VALUE];
}

/*
 * A 64-bit pointer preferred over its 32-bit twin.  For X_DSDT 5.2.9 says
 * the 32-bit field "must be ignored" when X_DSDT is usable, and for
 * X_FIRMWARE_CTRL that the 32-bit field "must be zero"; a disagreement is
 * a firmware bug worth a warning, and the 64-bit value wins.
 */
static uint64_t pick_addr(struct acpi_ctx *c, const uint8_t *t, uint32_t len, uint32_t off32,
			  uint32_t off64, const char *n32, const char *n64)
{
	uint32_t a32 = acpi_rd32(t + off32);
	uint64_t a64 = has(len, off64, 8) ? acpi_rd64(t + off64) : 0;

	if (!a64)
		return a32;
	if (a32 && a32 != a64)
		acpi_warn(c, "FADT: %s 0x%llx and %s 0x%x disagree; using %s", n64,
			  (unsigned long long)a64, n32, a32, n64);
	return a64;
}

int acpi_fadt_parse(struct acpi_ctx *c, uint64_t phys, const uint8_t *t, uint32_t len)
{
	struct acpi_info *out = c->out;

	if (len < FADT_V1_LEN)
		return acpi_faultf(c, ACPI_ELENGTH, "FADT: length %u smaller than the ACPI 1.0 FADT (%u)",
				   len, FADT_V1_LEN);

	out->has_fadt = true;
	out->fadt_phys = phys;
	out->fadt_revision = t[ACPI_HDR_REVISION];
	out->fadt_minor = has(len, FADT_MINOR_VERSION, 1) ? t[FADT_MINOR_VERSION] & 0x0F : 0;
	out->fadt_flags = acpi_rd32(t + FADT_FLAGS);
	/* IAPC_BOOT_ARCH was reserved in the ACPI 1.0 (revision 1) FADT. */
	out->iapc_boot_arch = out->fadt_revision >= 2 ? acpi_rd16(t + FADT_IAPC_BOOT_ARCH) : 0;
	out->hw_reduced = out->fadt_flags & ACPI_FADT_HW_REDUCED_ACPI;
	out->pm_tmr_32bit = out->fadt_flags & ACPI_FADT_TMR_VAL_EXT;

	out->sci_irq = acpi_rd16(t + FADT_SCI_INT);
	out->smi_cmd = acpi_rd32(t + FADT_SMI_CMD);
	out->acpi_enable = t[FADT_ACPI_ENABLE];
	out->acpi_disable = t[FADT_ACPI_DISABLE];
	out->century = t[FADT_CENTURY];

	out->pm1_evt_len = t[FADT_PM1_EVT_LEN];
	out->pm1_cnt_len = t[FADT_PM1_CNT_LEN];
	out->pm_tmr_len = t[FADT_PM_TMR_LEN];
	out->pm1a_evt = block(t, len, FADT_PM1A_EVT_BLK, FADT_X_PM1A_EVT_BLK, out->pm1_evt_len);
	out->pm1b_evt = block(t, len, FADT_PM1B_EVT_BLK, FADT_X_PM1B_EVT_BLK, out->pm1_evt_len);
	out->pm1a_cnt = block(t, len, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK, out->pm1_cnt_len);
	out->pm1b_cnt = block(t, len, FADT_PM1B_CNT_BLK, FADT_X_PM1B_CNT_BLK, out->pm1_cnt_len);
	out->pm_tmr = block(t, len, FADT_PM_TMR_BLK, FADT_X_PM_TMR_BLK, out->pm_tmr_len);
	/* GPE0_BLK_LEN counts both halves and must be a multiple of 2
	 * (4.8.4.1); an odd one means no usable block. */
	out->gpe0_blk_len = t[FADT_GPE0_BLK_LEN];
	out->gpe0_blk = block(t, len, FADT_GPE0_BLK, FADT_X_GPE0_BLK, out->gpe0_blk_len);
	if (out->gpe0_blk.address && (out->gpe0_blk_len == 0 || out->gpe0_blk_len % 2)) {
		acpi_warn(c, "FADT: GPE0 block length %u is not a positive multiple of 2; ignored",
			  out->gpe0_blk_len);
		memset(&out->gpe0_blk, 0, sizeof(out->gpe0_blk));
		out->gpe0_blk_len = 0;
	}

	parse_reset(c, t, len);

	out->dsdt_phys = pick_addr(c, t, len, FADT_DSDT, FADT_X_DSDT, "DSDT", "X_DSDT");
	out->facs_phys = pick_addr(c, t, len, FADT_FIRMWARE_CTRL, FADT_X_FIRMWARE_CTRL,
				   "FIRMWARE_CTRL", "X_FIRMWARE_CTRL");
	if (!out->dsdt_phys)
		acpi_warn(c, "FADT: no DSDT address");
	/* Hardware-reduced platforms may have no FACS (5.2.10); others need
	 * it for S3. */
	if (!out->facs_phys && !out->hw_reduced)
		acpi_warn(c, "FADT: no FACS address");
	/* 4.8.1: without HW_REDUCED_ACPI, PM1a_CNT is mandatory. */
	if (!out->hw_reduced && !out->pm1a_cnt.address)
		acpi_warn(c, "FADT: no PM1a control block");
	return 0;
}

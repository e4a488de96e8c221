/*
 * The ACPI sleep sequence (include/vigil/acpi_sleep.h), one copy for S3 and
 * S5.  The fixed PM1 registers that sleeping needs (ACPI 6.5 4.8.3): PM1
 * status (WAK_STS) and PM1 control (SLP_TYPx, SLP_EN, SCI_EN), each as an
 * "a" and an optional "b" block that OSPM writes separately (16.1: "two
 * fixed PM1x_CNT registers").  The blocks come from the FADT as Generic
 * Address Structures: system I/O on every PC we know, system memory allowed.
 */
#include <asm/cpu.h>
#include <asm/io.h>
#include <asm/paging.h>
#include <vigil/acpi.h>
#include <vigil/acpi_sleep.h>
#include <vigil/mm.h>
#include <vigil/string.h>

/* A 16-bit PM1 register: the status half of an event block, or a control
 * block.  A memory-space block is mapped once (uncached) and kept. */
struct pm1_reg {
	const struct acpi_gas *gas;
	uint32_t offset;             /* into the block: the enable half starts at PM1_EVT_LEN / 2 */
	volatile uint16_t *mmio;
};

static struct pm1_reg pm1a_sts = { &acpi.pm1a_evt, 0, NULL };
static struct pm1_reg pm1b_sts = { &acpi.pm1b_evt, 0, NULL };
static struct pm1_reg pm1a_cnt = { &acpi.pm1a_cnt, 0, NULL };
static struct pm1_reg pm1b_cnt = { &acpi.pm1b_cnt, 0, NULL };

static bool present(const struct pm1_reg *r)
{
	return r->gas->address != 0;
}

static bool space_ok(const struct acpi_gas *g)
{
	return g->address == 0 || g->space_id == ACPI_GAS_IO || g->space_id == ACPI_GAS_MEMORY;
}

static uint16_t reg_read(struct pm1_reg *r)
{
	if (!present(r))
		return 0;
	if (r->gas->space_id == ACPI_GAS_IO)
		return inw((uint16_t)(r->gas->address + r->offset));
	if (!r->mmio)
		r->mmio = (volatile uint16_t *)((uint8_t *)ioremap(r->gas->address + r->offset, 2));
	return *r->mmio;
}

static void reg_write(struct pm1_reg *r, uint16_t v)
{
	if (!present(r))
		return;
	if (r->gas->space_id == ACPI_GAS_IO) {
		outw((uint16_t)(r->gas->address + r->offset), v);
		return;
	}
	if (!r->mmio)
		r->mmio = (volatile uint16_t *)((uint8_t *)ioremap(r->gas->address + r->offset, 2));
	*r->mmio = v;
}

int acpi_sleep_regs_usable(char *why, size_t len)
{
	if (!acpi.pm1a_cnt.address) {
		snprintf(why, len, "the FADT has no PM1a control block");
		return -1;
	}
	const struct { const struct acpi_gas *g; const char *name; } blocks[] = {
		{ &acpi.pm1a_cnt, "PM1a control" }, { &acpi.pm1b_cnt, "PM1b control" },
		{ &acpi.pm1a_evt, "PM1a event" }, { &acpi.pm1b_evt, "PM1b event" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(blocks); i++) {
		if (!space_ok(blocks[i].g)) {
			snprintf(why, len, "the %s block is in address space %u (only system I/O and memory are supported)",
				 blocks[i].name, blocks[i].g->space_id);
			return -1;
		}
	}
	if (acpi.pm1a_evt.address && acpi.pm1_evt_len < 4) {
		snprintf(why, len, "PM1_EVT_LEN is %u (at least 4 expected)", acpi.pm1_evt_len);
		return -1;
	}
	return 0;
}

void acpi_pm1_clear_status(void)
{
	/* Status bits are write-1-to-clear (4.8.3.1.1); writing 0 elsewhere
	 * leaves them alone. */
	reg_write(&pm1a_sts, ACPI_PM1_ALL_STATUS);
	reg_write(&pm1b_sts, ACPI_PM1_ALL_STATUS);
}

bool acpi_pm1_wake_status(void)
{
	/* WAK_STS may live in either block (4.8.3.1: OSPM ORs a and b). */
	return ((reg_read(&pm1a_sts) | reg_read(&pm1b_sts)) & ACPI_PM1_WAK_STS) != 0;
}

uint16_t acpi_pm1_cnt_read(bool b)
{
	return reg_read(b ? &pm1b_cnt : &pm1a_cnt);
}

void acpi_pm1_cnt_write(bool b, uint16_t v)
{
	reg_write(b ? &pm1b_cnt : &pm1a_cnt, v);
}

bool acpi_sci_enable(void)
{
	uint16_t cnt = (uint16_t)(acpi_pm1_cnt_read(false) | acpi_pm1_cnt_read(true));
	if (cnt & ACPI_PM1_SCI_EN)
		return true;
	/* The documented way (5.2.9, FADT SMI_CMD and ACPI_ENABLE: "the last
	 * action SMI does to relinquish ownership is to set the SCI_EN bit"):
	 * ask the firmware, then wait for SCI_EN. */
	if (acpi.smi_cmd && acpi.acpi_enable) {
		outb((uint16_t)acpi.smi_cmd, acpi.acpi_enable);
		for (int i = 0; i < 3000; i++) {
			if ((acpi_pm1_cnt_read(false) | acpi_pm1_cnt_read(true)) & ACPI_PM1_SCI_EN)
				return true;
			io_delay();
		}
	}
	/* No SMI_CMD (or the firmware ignored it): set the bit ourselves, as
	 * Linux does after S3 for firmware that leaves it clear. */
	acpi_pm1_cnt_write(false, (uint16_t)(acpi_pm1_cnt_read(false) | ACPI_PM1_SCI_EN));
	if (present(&pm1b_cnt))
		acpi_pm1_cnt_write(true, (uint16_t)(acpi_pm1_cnt_read(true) | ACPI_PM1_SCI_EN));
	return ((acpi_pm1_cnt_read(false) | acpi_pm1_cnt_read(true)) & ACPI_PM1_SCI_EN) != 0;
}

/* ---- entering a sleep state ---- */

/* PM1a/PM1b control as written by acpi_sleep_write_type(), without SLP_EN. */
static uint16_t sleep_cnt_a, sleep_cnt_b;

static uint16_t with_slp_typ(uint16_t cnt, uint8_t typ)
{
	return (uint16_t)((cnt & ~(ACPI_PM1_SLP_TYP_MASK | ACPI_PM1_SLP_EN)) | ((unsigned)typ << ACPI_PM1_SLP_TYP_SHIFT));
}

void acpi_sleep_write_type(const struct acpi_sleep_type *st)
{
	sleep_cnt_a = with_slp_typ(acpi_pm1_cnt_read(false), st->slp_typa);
	sleep_cnt_b = with_slp_typ(acpi_pm1_cnt_read(true), st->slp_typb);
	acpi_pm1_clear_status();
	/* SLP_TYP first, then SLP_EN in a separate write, a before b, as
	 * ACPICA does: some chipsets latch the type on its own write. */
	acpi_pm1_cnt_write(false, sleep_cnt_a);
	if (present(&pm1b_cnt))
		acpi_pm1_cnt_write(true, sleep_cnt_b);
}

void acpi_sleep_write_enable(void)
{
	acpi_pm1_cnt_write(false, (uint16_t)(sleep_cnt_a | ACPI_PM1_SLP_EN));
	if (present(&pm1b_cnt))
		acpi_pm1_cnt_write(true, (uint16_t)(sleep_cnt_b | ACPI_PM1_SLP_EN));
}

int acpi_enter_s5(void)
{
	char why[96];
	if (!acpi.s5.valid || acpi_sleep_regs_usable(why, sizeof(why)) != 0)
		return -1;
	/* Firmware left in legacy mode (SCI_EN clear) ignores SLP_EN. */
	acpi_sci_enable();
	acpi_sleep_write_type(&acpi.s5);
	acpi_sleep_write_enable();
	return 0;
}

/* ---- FACS waking vector ---- */

static uint32_t saved_vector;
static uint64_t saved_x_vector;

void acpi_waking_vector_save(void)
{
	saved_vector = *(volatile uint32_t *)phys_to_virt(acpi.fw_waking_vector_phys);
	saved_x_vector = acpi.x_fw_waking_vector_phys ?
		*(volatile uint64_t *)phys_to_virt(acpi.x_fw_waking_vector_phys) : 0;
}

static void write_vectors(uint32_t vector, uint64_t x_vector)
{
	*(volatile uint32_t *)phys_to_virt(acpi.fw_waking_vector_phys) = vector;
	if (acpi.x_fw_waking_vector_phys)
		*(volatile uint64_t *)phys_to_virt(acpi.x_fw_waking_vector_phys) = x_vector;
}

void acpi_waking_vector_set(uint32_t real_mode_vector)
{
	/* Only the 32-bit vector is used: with X_Firmware_Waking_Vector zero
	 * the firmware enters it in real mode (5.2.10, Table 5.14).  A stale
	 * non-zero X vector from an earlier OS would win, so it is cleared. */
	write_vectors(real_mode_vector, 0);
}

void acpi_waking_vector_restore(void)
{
	write_vectors(saved_vector, saved_x_vector);
}

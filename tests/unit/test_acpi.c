/*
 * Host tests for the ACPI table parser (drivers/acpi/): good tables of every
 * generation in fake physical memory, then each kind of malformation, with
 * the return code and the message (table name + fault) checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/acpi.h>

#include "acpi_builder.h"

struct env {
	struct fakemem fm;
	struct ab_platform p;
	struct acpi_mapper m;
	struct acpi_info info;
	char err[160];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	fm_init(&e->fm);
	e->m = fm_mapper(&e->fm);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	fm_fini(&e->fm);
	free(e);
	return 0;
}

static int parse(struct env *e)
{
	memset(e->err, 'X', sizeof(e->err));
	return acpi_parse(e->p.rsdp, &e->m, &e->info, e->err, sizeof(e->err));
}

static void dump_warnings(const struct acpi_info *info)
{
	for (uint32_t i = 0; i < info->nr_warnings; i++)
		print_message("  warning: %s\n", info->warnings[i]);
}

/* rc must be code and err must contain every given fragment. */
#define expect_fault(e, rc, code, ...) expect_fault_(e, rc, code, __FILE__, __LINE__, __VA_ARGS__, NULL)
static void expect_fault_(struct env *e, int rc, int code, const char *file, int line, ...)
{
	va_list ap;
	const char *frag;

	if (rc != code) {
		print_error("%s:%d: rc %d (%s), want %d; err \"%s\"\n", file, line, rc,
			    acpi_strerror(rc), code, rc ? e->err : "");
		dump_warnings(&e->info);
		fail();
	}
	va_start(ap, line);
	while ((frag = va_arg(ap, const char *))) {
		if (!strstr(e->err, frag)) {
			print_error("%s:%d: err \"%s\" lacks \"%s\"\n", file, line, e->err, frag);
			fail();
		}
	}
	va_end(ap);
}

#define expect_ok(e, rc) do { \
	if ((rc) != 0) { \
		print_error("%s:%d: rc %d: %s\n", __FILE__, __LINE__, (rc), (e)->err); \
		fail(); \
	} \
} while (0)

/* Some warning contains every given fragment. */
#define expect_warning(e, ...) expect_warning_(e, __FILE__, __LINE__, __VA_ARGS__, NULL)
static void expect_warning_(struct env *e, const char *file, int line, ...)
{
	for (uint32_t i = 0; i < e->info.nr_warnings; i++) {
		va_list ap;
		const char *frag;
		bool all = true;

		va_start(ap, line);
		while ((frag = va_arg(ap, const char *)))
			all = all && strstr(e->info.warnings[i], frag);
		va_end(ap);
		if (all)
			return;
	}
	print_error("%s:%d: no such warning among %u:\n", file, line, e->info.nr_warnings);
	dump_warnings(&e->info);
	fail();
}

static void expect_no_warnings(struct env *e)
{
	if (e->info.nr_warnings) {
		dump_warnings(&e->info);
		fail_msg("%u unexpected warnings", e->info.nr_warnings);
	}
}

/* Recompute both RSDP checksums after an edit. */
static void rsdp_fix(struct fakemem *fm, uint64_t phys)
{
	uint8_t *p = fm_at(fm, phys);
	uint8_t s = 0;

	p[8] = 0;
	for (int i = 0; i < 20; i++)
		s = (uint8_t)(s + p[i]);
	p[8] = (uint8_t)-s;
	if (p[15] >= 2) {
		uint32_t len = (uint32_t)p[20] | (uint32_t)p[21] << 8;

		p[32] = 0;
		s = 0;
		for (uint32_t i = 0; i < len; i++)
			s = (uint8_t)(s + p[i]);
		p[32] = (uint8_t)-s;
	}
}

static const struct acpi_table_desc *find_table(const struct acpi_info *info, const char *sig)
{
	for (uint32_t i = 0; i < info->nr_tables; i++)
		if (!strcmp(info->tables[i].signature, sig))
			return &info->tables[i];
	return NULL;
}

/* ----------------------------------------------------------------------- */
/* Good tables                                                               */
/* ----------------------------------------------------------------------- */

/* ACPI 2.0+ machine: RSDP v2, XSDT, 6.x FADT with X_ fields, FACS, DSDT,
 * MADT, HPET, SPCR, SSDT.  Every parsed value checked. */
static void test_v2_xsdt_full(void **state)
{
	struct env *e = *state;
	struct acpi_info *i = &e->info;
	const struct acpi_table_desc *d;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	rc = parse(e);
	expect_ok(e, rc);
	assert_string_equal(e->err, "");
	expect_no_warnings(e);

	/* RSDP and root */
	assert_int_equal(i->rsdp_phys, e->p.rsdp);
	assert_int_equal(i->rsdp_revision, 2);
	assert_string_equal(i->oem_id, "VIGIL ");
	assert_true(i->root_is_xsdt);
	assert_int_equal(i->root_phys, e->p.xsdt);

	/* MADT */
	assert_int_equal(i->madt_phys, e->p.madt);
	assert_int_equal(i->madt_revision, 5);
	assert_int_equal(i->lapic_phys, 0xFEE00000);
	assert_false(i->lapic_override);
	assert_true(i->pcat_compat);
	assert_int_equal(i->nr_cpus, 4);
	assert_int_equal(i->nr_cpus_enabled, 4);
	assert_int_equal(i->nr_disabled, 0);
	for (uint32_t c = 0; c < 4; c++) {
		assert_int_equal(i->cpus[c].apic_id, c);
		assert_int_equal(i->cpus[c].uid, c);
		assert_true(i->cpus[c].enabled);
		assert_false(i->cpus[c].online_capable);
		assert_false(i->cpus[c].x2apic);
	}
	assert_int_equal(i->nr_ioapics, 1);
	assert_int_equal(i->ioapics[0].id, 0);
	assert_int_equal(i->ioapics[0].address, 0xFEC00000);
	assert_int_equal(i->ioapics[0].gsi_base, 0);
	assert_int_equal(i->nr_isos, 2);
	assert_int_equal(i->isos[0].source, 0);
	assert_int_equal(i->isos[0].gsi, 2);
	assert_int_equal(i->isos[1].source, 9);
	assert_int_equal(i->isos[1].gsi, 9);
	assert_int_equal(i->isos[1].flags, 0xD);
	assert_int_equal(i->nr_lapic_nmis, 1);
	assert_int_equal(i->lapic_nmis[0].uid, ACPI_UID_ALL);
	assert_int_equal(i->lapic_nmis[0].lint, 1);

	/* FADT */
	assert_true(i->has_fadt);
	assert_int_equal(i->fadt_phys, e->p.fadt);
	assert_int_equal(i->fadt_revision, 6);
	assert_int_equal(i->fadt_minor, 5);
	assert_false(i->hw_reduced);
	assert_int_equal(i->sci_irq, 9);
	assert_int_equal(i->smi_cmd, 0xB2);
	assert_int_equal(i->acpi_enable, 0xF1);
	assert_int_equal(i->acpi_disable, 0xF0);
	assert_int_equal(i->pm1a_evt.space_id, ACPI_GAS_IO);
	assert_int_equal(i->pm1a_evt.address, 0x600);
	assert_int_equal(i->pm1a_evt.bit_width, 32);
	assert_int_equal(i->pm1a_cnt.address, 0x604);
	assert_int_equal(i->pm1a_cnt.bit_width, 16);
	assert_int_equal(i->pm1b_cnt.address, 0);
	assert_int_equal(i->pm1b_evt.address, 0);
	assert_int_equal(i->pm_tmr.address, 0x608);
	assert_int_equal(i->pm_tmr_len, 4);
	assert_true(i->pm_tmr_32bit);
	assert_int_equal(i->gpe0_blk.space_id, ACPI_GAS_IO);
	assert_int_equal(i->gpe0_blk.address, 0x620);
	assert_int_equal(i->gpe0_blk_len, 16);
	assert_true(i->has_reset_reg);
	assert_int_equal(i->reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(i->reset_reg.address, 0xCF9);
	assert_int_equal(i->reset_value, 6);
	assert_int_equal(i->century, 0x32);
	assert_int_equal(i->iapc_boot_arch, ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042);
	assert_int_equal(i->dsdt_phys, e->p.dsdt);
	assert_int_equal(i->facs_phys, e->p.facs);

	/* FACS */
	assert_true(i->has_facs);
	assert_int_equal(i->facs_length, 64);
	assert_int_equal(i->facs_hw_signature, 0x12345678);
	assert_int_equal(i->facs_version, 2);
	assert_int_equal(i->fw_waking_vector_phys, e->p.facs + 12);
	assert_int_equal(i->x_fw_waking_vector_phys, e->p.facs + 24);
	assert_int_equal(i->global_lock_phys, e->p.facs + 16);

	/* DSDT */
	assert_true(i->has_dsdt);
	assert_true(i->s3.valid);
	assert_int_equal(i->s3.slp_typa, 5);
	assert_int_equal(i->s3.slp_typb, 1);
	assert_true(i->s5.valid);
	assert_int_equal(i->s5.slp_typa, 7);
	assert_int_equal(i->cpuhp_port, 0x0CD8);
	assert_int_equal(i->s5.slp_typb, 0);

	/* HPET */
	assert_true(i->has_hpet);
	assert_int_equal(i->hpet_phys, e->p.hpet);
	assert_int_equal(i->hpet_base, 0xFED00000);
	assert_int_equal(i->hpet_block_id, 0x8086A201);
	assert_int_equal(i->hpet_min_tick, 0x80);

	/* SPCR */
	assert_true(i->has_spcr);
	assert_int_equal(i->spcr_revision, 2);
	assert_int_equal(i->spcr_interface, 0);
	assert_int_equal(i->spcr_base.space_id, ACPI_GAS_IO);
	assert_int_equal(i->spcr_base.address, 0x3F8);
	assert_int_equal(i->spcr_irq_type, 1);
	assert_int_equal(i->spcr_irq, 4);
	assert_int_equal(i->spcr_gsi, 4);
	assert_int_equal(i->spcr_baud, 115200);
	assert_int_equal(i->spcr_stop_bits, 1);
	assert_int_equal(i->spcr_terminal, 3);

	/* Table listing: root, the listed tables in order, then FACS, DSDT. */
	{
		static const char *const order[] = {
			"XSDT", "FACP", "APIC", "HPET", "SPCR", "SSDT", "FACS", "DSDT",
		};

		assert_int_equal(i->nr_tables, 8);
		for (size_t k = 0; k < 8; k++) {
			assert_string_equal(i->tables[k].signature, order[k]);
			assert_true(i->tables[k].valid);
		}
	}
	d = find_table(i, "SSDT");
	assert_non_null(d);
	assert_int_equal(d->phys, e->p.ssdt);
	assert_int_equal(d->length, 36 + 40);
	assert_string_equal(d->oem_id, "VIGIL ");
	assert_string_equal(d->oem_table_id, "TESTTBL ");
	d = find_table(i, "FACS");
	assert_non_null(d);
	assert_string_equal(d->oem_id, "");
}

/* ACPI 1.0 machine: RSDP revision 0 + RSDT, the 116-byte FADT (no X_
 * fields, no reset register), FACS version 0, _S5_ in odd encodings. */
static void test_v1_rsdt(void **state)
{
	struct env *e = *state;
	struct acpi_info *i = &e->info;
	struct ab_fadt f;
	static const uint8_t aml[] = {
		/* Name (_S3_, Package () { 0x0001 (WordPrefix), 0x00000003 (DWordPrefix) }) */
		0x08, '_', 'S', '3', '_', 0x12, 0x0A, 0x02, 0x0B, 0x01, 0x00, 0x0C, 0x03, 0, 0, 0,
		/* Name (_S5_, Package () { 0x05 (BytePrefix), 5 (bare byte) }) */
		0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0A, 0x05, 0x05,
	};
	int rc;

	ab_default(&e->p, &e->fm, 0);
	e->p.facs = ab_facs(&e->fm, 0, 0xCAFE, 0x9000, 0, 0);
	e->p.dsdt = ab_dsdt(&e->fm, aml, sizeof(aml));
	ab_default_fadt(&f, 0, 0);
	f.revision = 1;
	f.length = 116;
	f.firmware_ctrl = (uint32_t)e->p.facs;
	f.dsdt = (uint32_t)e->p.dsdt;
	f.pm1b_evt = 0x700;
	f.pm1b_cnt = 0x704;
	e->p.fadt = ab_fadt(&e->fm, &f);
	ab_finish(&e->p);

	rc = parse(e);
	expect_ok(e, rc);
	expect_no_warnings(e);
	assert_int_equal(i->rsdp_revision, 0);
	assert_false(i->root_is_xsdt);
	assert_int_equal(i->root_phys, e->p.rsdt);
	assert_int_equal(i->fadt_revision, 1);
	assert_int_equal(i->fadt_minor, 0);
	/* 32-bit blocks become system-I/O GAS with the block length as width */
	assert_int_equal(i->pm1a_evt.space_id, ACPI_GAS_IO);
	assert_int_equal(i->pm1a_evt.address, 0x600);
	assert_int_equal(i->pm1a_evt.bit_width, 32);
	assert_int_equal(i->pm1b_evt.address, 0x700);
	assert_int_equal(i->pm1a_cnt.address, 0x604);
	assert_int_equal(i->pm1a_cnt.bit_width, 16);
	assert_int_equal(i->pm1b_cnt.address, 0x704);
	assert_int_equal(i->pm_tmr.address, 0x608);
	/* reset register is beyond a 1.0 FADT even though the flag is set */
	assert_false(i->has_reset_reg);
	/* IAPC_BOOT_ARCH was reserved in revision 1 */
	assert_int_equal(i->iapc_boot_arch, 0);
	assert_int_equal(i->dsdt_phys, e->p.dsdt);
	assert_int_equal(i->facs_phys, e->p.facs);
	assert_true(i->has_facs);
	assert_int_equal(i->facs_version, 0);
	assert_int_equal(i->fw_waking_vector, 0x9000);
	assert_int_equal(i->x_fw_waking_vector_phys, 0);
	assert_true(i->s3.valid);
	assert_int_equal(i->s3.slp_typa, 1);
	assert_int_equal(i->s3.slp_typb, 3);
	assert_true(i->s5.valid);
	assert_int_equal(i->s5.slp_typa, 5);
	assert_int_equal(i->s5.slp_typb, 5);
	assert_int_equal(i->nr_cpus, 4);
	assert_string_equal(i->tables[0].signature, "RSDT");
}

/* RSDP revision 2 with a zero XsdtAddress: the RSDT is used. */
static void test_v2_without_xsdt_uses_rsdt(void **state)
{
	struct env *e = *state;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	ab_rsdp(&e->fm, e->p.rsdp, 2, (uint32_t)e->p.rsdt, 0);
	rc = parse(e);
	expect_ok(e, rc);
	assert_false(e->info.root_is_xsdt);
	assert_int_equal(e->info.root_phys, e->p.rsdt);
	assert_int_equal(e->info.nr_cpus, 4);
}

/* A 2.0 FADT (244 bytes) whose X_ blocks differ from the 32-bit ones: the
 * X_ forms win; a zero X_ falls back to the 32-bit block; an X_ width of 0
 * is filled from the length field. */
static void test_fadt_x_fields_preferred(void **state)
{
	struct env *e = *state;
	struct acpi_info *i = &e->info;
	struct ab_fadt f;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	ab_default_fadt(&f, e->p.facs, e->p.dsdt);
	f.revision = 3;
	f.minor = 0;
	f.length = 244;
	f.pm1a_cnt = 0x404;
	f.x_pm1a_cnt = (struct acpi_gas){ ACPI_GAS_IO, 16, 0, 2, 0x1004 };
	f.pm1b_cnt = 0x504;
	f.x_pm1b_cnt = (struct acpi_gas){ ACPI_GAS_MEMORY, 0, 0, 2, 0xFED40000 };
	f.pm1b_evt = 0x500;     /* no X_PM1b_EVT: 32-bit used */
	f.firmware_ctrl = 0;
	e->p.fadt = ab_fadt(&e->fm, &f);
	ab_finish(&e->p);

	rc = parse(e);
	expect_ok(e, rc);
	expect_no_warnings(e);
	assert_int_equal(i->fadt_revision, 3);
	assert_int_equal(i->pm1a_cnt.space_id, ACPI_GAS_IO);
	assert_int_equal(i->pm1a_cnt.address, 0x1004);
	assert_int_equal(i->pm1b_cnt.space_id, ACPI_GAS_MEMORY);
	assert_int_equal(i->pm1b_cnt.address, 0xFED40000);
	assert_int_equal(i->pm1b_cnt.bit_width, 16);
	assert_int_equal(i->pm1b_evt.space_id, ACPI_GAS_IO);
	assert_int_equal(i->pm1b_evt.address, 0x500);
	assert_int_equal(i->pm1b_evt.bit_width, 32);
	assert_int_equal(i->facs_phys, e->p.facs);
	assert_true(i->has_reset_reg);
}

/* X_DSDT and DSDT disagree: warn, use X_DSDT (ACPI 6.5 5.2.9). Same for
 * the FACS pointers. */
static void test_fadt_x_dsdt_disagree(void **state)
{
	struct env *e = *state;
	struct ab_fadt f;
	uint64_t other_dsdt, other_facs;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	other_dsdt = ab_dsdt(&e->fm, "", 0);
	other_facs = ab_facs(&e->fm, 1, 0, 0, 0, 0);
	ab_default_fadt(&f, e->p.facs, e->p.dsdt);
	f.dsdt = (uint32_t)other_dsdt;
	f.firmware_ctrl = (uint32_t)other_facs;
	e->p.fadt = ab_fadt(&e->fm, &f);
	ab_finish(&e->p);

	rc = parse(e);
	expect_ok(e, rc);
	expect_warning(e, "FADT: X_DSDT", "and DSDT", "disagree");
	expect_warning(e, "FADT: X_FIRMWARE_CTRL", "and FIRMWARE_CTRL", "disagree");
	assert_int_equal(e->info.dsdt_phys, e->p.dsdt);
	assert_int_equal(e->info.facs_phys, e->p.facs);
	assert_true(e->info.s5.valid);
}

/* HW-reduced platform: no FACS, no PM1 blocks, and no warnings for that. */
static void test_fadt_hw_reduced(void **state)
{
	struct env *e = *state;
	struct ab_fadt f;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	memset(&f, 0, sizeof(f));
	f.revision = 6;
	f.minor = 4;
	f.length = 276;
	f.x_dsdt = e->p.dsdt;
	f.flags = ACPI_FADT_HW_REDUCED_ACPI;
	f.iapc_boot_arch = ACPI_IAPC_CMOS_RTC_ABSENT | ACPI_IAPC_VGA_NOT_PRESENT;
	e->p.fadt = ab_fadt(&e->fm, &f);
	ab_finish(&e->p);

	rc = parse(e);
	expect_ok(e, rc);
	expect_no_warnings(e);
	assert_true(e->info.hw_reduced);
	assert_false(e->info.has_facs);
	assert_false(e->info.has_reset_reg);
	assert_int_equal(e->info.pm1a_cnt.address, 0);
	assert_int_equal(e->info.iapc_boot_arch,
			 ACPI_IAPC_CMOS_RTC_ABSENT | ACPI_IAPC_VGA_NOT_PRESENT);
}

/* RESET_REG_SUP with a register the spec does not allow: warning, no reset. */
static void test_fadt_bad_reset_reg(void **state)
{
	struct env *e = *state;
	struct ab_fadt f;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	ab_default_fadt(&f, e->p.facs, e->p.dsdt);
	f.reset_reg = (struct acpi_gas){ ACPI_GAS_IO, 16, 0, 2, 0xCF9 };
	e->p.fadt = ab_fadt(&e->fm, &f);
	ab_finish(&e->p);
	rc = parse(e);
	expect_ok(e, rc);
	assert_false(e->info.has_reset_reg);
	expect_warning(e, "FADT: reset register unusable", "width 16");
}

/* GPE0_BLK_LEN covers both halves and must be even (ACPI 6.5 4.8.4.1). */
static void test_fadt_odd_gpe0_len(void **state)
{
	struct env *e = *state;
	struct ab_fadt f;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	ab_default_fadt(&f, e->p.facs, e->p.dsdt);
	f.gpe0_blk_len = 7;
	e->p.fadt = ab_fadt(&e->fm, &f);
	ab_finish(&e->p);
	rc = parse(e);
	expect_ok(e, rc);
	assert_int_equal(e->info.gpe0_blk.address, 0);
	assert_int_equal(e->info.gpe0_blk_len, 0);
	expect_warning(e, "FADT: GPE0 block length 7", "multiple of 2");
}

/* xAPIC and x2APIC entries with every flag combination. */
static void test_madt_cpu_flags(void **state)
{
	struct env *e = *state;
	struct acpi_info *i = &e->info;
	struct tb t;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 0);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);
	ab_madt_lapic(&t, 1, 2, ACPI_MADT_ENABLED);
	ab_madt_lapic(&t, 2, 4, ACPI_MADT_ONLINE_CAPABLE);     /* hot-pluggable */
	ab_madt_lapic(&t, 3, 0xFF, 0);                         /* empty socket */
	ab_madt_lapic(&t, 4, 0xFF, 0);                         /* same placeholder: fine */
	ab_madt_x2apic(&t, 100, 300, ACPI_MADT_ENABLED);
	ab_madt_x2apic(&t, 101, 301, ACPI_MADT_ONLINE_CAPABLE);
	ab_madt_x2apic(&t, 102, 302, 0);
	ab_madt_x2apic(&t, 103, 0xFFFFFFFF, 0);
	ab_madt_x2apic_nmi(&t, ACPI_UID_ALL, 5, 1);
	ab_madt_lapic_nmi(&t, 1, 0, 0);
	ab_madt_nmi_source(&t, 0xF, 5);
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);

	rc = parse(e);
	expect_ok(e, rc);
	expect_no_warnings(e);
	assert_false(i->pcat_compat);
	assert_int_equal(i->nr_cpus, 5);
	assert_int_equal(i->nr_cpus_enabled, 3);
	assert_int_equal(i->cpus[0].apic_id, 0);
	assert_int_equal(i->cpus[1].apic_id, 2);
	assert_int_equal(i->cpus[1].uid, 1);
	assert_int_equal(i->cpus[2].apic_id, 4);
	assert_false(i->cpus[2].enabled);
	assert_true(i->cpus[2].online_capable);
	assert_int_equal(i->cpus[3].apic_id, 300);
	assert_int_equal(i->cpus[3].uid, 100);
	assert_true(i->cpus[3].x2apic);
	assert_true(i->cpus[3].enabled);
	assert_int_equal(i->cpus[4].apic_id, 301);
	assert_true(i->cpus[4].online_capable);
	assert_false(i->cpus[4].enabled);
	assert_int_equal(i->nr_disabled, 4);
	assert_int_equal(i->disabled[0].apic_id, 0xFF);
	assert_int_equal(i->disabled[2].apic_id, 302);
	assert_true(i->disabled[2].x2apic);
	assert_int_equal(i->nr_lapic_nmis, 2);
	assert_int_equal(i->lapic_nmis[0].uid, ACPI_UID_ALL);
	assert_int_equal(i->lapic_nmis[0].flags, 5);
	assert_int_equal(i->lapic_nmis[0].lint, 1);
	assert_int_equal(i->lapic_nmis[1].uid, 1);
	assert_int_equal(i->lapic_nmis[1].lint, 0);
	assert_int_equal(i->nr_nmi_sources, 1);
	assert_int_equal(i->nmi_sources[0].gsi, 5);
	assert_int_equal(i->nmi_sources[0].flags, 0xF);
}

/* Online Capable is a reserved bit before MADT revision 5 / ACPI 6.3: such
 * entries are not possible CPUs, unless the FADT says 6.3 or later. */
static void test_madt_online_capable_needs_acpi_6_3(void **state)
{
	struct env *e = *state;
	struct ab_fadt f;
	struct tb t;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 3, 0xFEE00000, 0);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);
	ab_madt_lapic(&t, 1, 1, ACPI_MADT_ONLINE_CAPABLE);
	e->p.madt = tb_place(&t, &e->fm);
	ab_default_fadt(&f, e->p.facs, e->p.dsdt);
	f.minor = 2;   /* FADT 6.2 */
	e->p.fadt = ab_fadt(&e->fm, &f);
	ab_finish(&e->p);
	rc = parse(e);
	expect_ok(e, rc);
	assert_int_equal(e->info.nr_cpus, 1);
	assert_int_equal(e->info.nr_disabled, 1);

	ab_default_fadt(&f, e->p.facs, e->p.dsdt);
	f.minor = 3;   /* FADT 6.3 */
	e->p.fadt = ab_fadt(&e->fm, &f);
	ab_finish(&e->p);
	rc = parse(e);
	expect_ok(e, rc);
	assert_int_equal(e->info.nr_cpus, 2);
	assert_true(e->info.cpus[1].online_capable);
}

/* Local APIC Address Override (type 5) replaces the 32-bit address. */
static void test_madt_lapic_override(void **state)
{
	struct env *e = *state;
	struct tb t;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);
	ab_madt_lapic_override(&t, 0x1FEE00000ull);
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	rc = parse(e);
	expect_ok(e, rc);
	assert_true(e->info.lapic_override);
	assert_int_equal(e->info.lapic_phys, 0x1FEE00000ull);
}

/* The same CPU as an xAPIC and an x2APIC entry (ID < 255): warning, first
 * kept.  An enabled entry with the broadcast ID: warning, ignored. */
static void test_madt_xapic_x2apic_same_cpu(void **state)
{
	struct env *e = *state;
	struct tb t;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);
	ab_madt_lapic(&t, 1, 1, ACPI_MADT_ENABLED);
	ab_madt_x2apic(&t, 1, 1, ACPI_MADT_ENABLED);
	ab_madt_lapic(&t, 2, 0xFF, ACPI_MADT_ENABLED);
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	rc = parse(e);
	expect_ok(e, rc);
	assert_int_equal(e->info.nr_cpus, 2);
	assert_false(e->info.cpus[1].x2apic);
	expect_warning(e, "MADT: APIC ID 1 in both xAPIC and x2APIC entries");
	expect_warning(e, "MADT:", "broadcast APIC ID 0xff");
}

/* More CPUs than ACPI_MAX_CPUS: the rest dropped with a warning. */
static void test_madt_too_many_cpus(void **state)
{
	struct env *e = *state;
	struct tb t;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	for (uint32_t c = 0; c < ACPI_MAX_CPUS + 44; c++)
		ab_madt_x2apic(&t, c, c, ACPI_MADT_ENABLED);
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	rc = parse(e);
	expect_ok(e, rc);
	assert_int_equal(e->info.nr_cpus, ACPI_MAX_CPUS);
	assert_int_equal(e->info.nr_cpus_dropped, 44);
	assert_int_equal(e->info.cpus[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
	expect_warning(e, "MADT: 44 CPUs beyond the first 512 dropped");
}

/* SPCR with an MMIO UART, revision 4 precise baud rate. */
static void test_spcr_mmio_precise_baud(void **state)
{
	struct env *e = *state;
	struct tb t;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	tb_begin(&t, "SPCR", 4);
	tb_u8(&t, 0x12);                            /* 16550 with GAS */
	tb_zero(&t, 3);
	tb_gas(&t, ACPI_GAS_MEMORY, 32, 0, 3, 0xFE030000);
	tb_u8(&t, 2);                               /* I/O APIC */
	tb_u8(&t, 0);
	tb_u32(&t, 33);
	tb_u8(&t, 7);
	tb_zero(&t, 80 - 59);
	tb_u32(&t, 1500000);                        /* Precise Baud Rate */
	tb_zero(&t, 4);
	e->p.spcr = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	rc = parse(e);
	expect_ok(e, rc);
	expect_no_warnings(e);
	assert_true(e->info.has_spcr);
	assert_int_equal(e->info.spcr_interface, 0x12);
	assert_int_equal(e->info.spcr_base.space_id, ACPI_GAS_MEMORY);
	assert_int_equal(e->info.spcr_base.address, 0xFE030000);
	assert_int_equal(e->info.spcr_gsi, 33);
	assert_int_equal(e->info.spcr_baud, 1500000);
}

/* ----------------------------------------------------------------------- */
/* RSDP discovery in the BIOS areas                                          */
/* ----------------------------------------------------------------------- */

static void test_find_rsdp_ebda_first(void **state)
{
	struct env *e = *state;
	uint64_t found = 0;

	fm_w16(&e->fm, 0x40E, 0x9FC0);                 /* EBDA at 0x9FC00 */
	ab_rsdp(&e->fm, 0x9FC40, 2, 0x1000, 0x2000);
	ab_rsdp(&e->fm, 0xF0000, 0, 0x1000, 0);        /* also one in the ROM area */
	assert_int_equal(acpi_find_rsdp_bios(&e->m, &found), 0);
	assert_int_equal(found, 0x9FC40);
}

static void test_find_rsdp_rom_area(void **state)
{
	struct env *e = *state;
	uint64_t found = 0;

	/* decoys: right signature, bad checksum; bad extended checksum */
	ab_rsdp(&e->fm, 0xE1000, 0, 0x1000, 0);
	fm_w8(&e->fm, 0xE1000 + 8, (uint8_t)(fm_at(&e->fm, 0xE1000)[8] + 1));
	ab_rsdp(&e->fm, 0xE2000, 2, 0x1000, 0x2000);
	fm_w8(&e->fm, 0xE2000 + 32, (uint8_t)(fm_at(&e->fm, 0xE2000)[32] + 1));
	/* not on a 16-byte boundary: never looked at */
	ab_rsdp(&e->fm, 0xE3008, 0, 0x1000, 0);
	ab_rsdp(&e->fm, 0xFFFE0, 2, 0x1000, 0x2000);   /* the last possible slot */
	assert_int_equal(acpi_find_rsdp_bios(&e->m, &found), 0);
	assert_int_equal(found, 0xFFFE0);
}

static void test_find_rsdp_none(void **state)
{
	struct env *e = *state;
	uint64_t found = 0x1234;

	fm_w16(&e->fm, 0x40E, 0x9FC0);
	assert_int_equal(acpi_find_rsdp_bios(&e->m, &found), ACPI_ENOTFOUND);
	assert_int_equal(found, 0x1234);
	assert_int_equal(acpi_find_rsdp_bios(NULL, &found), ACPI_EINVAL);
}

/* Found by the scan, then parsed. */
static void test_find_then_parse(void **state)
{
	struct env *e = *state;
	uint64_t found = 0;
	int rc;

	ab_default(&e->p, &e->fm, 2);
	e->p.rsdp_at = 0xE0010;
	ab_finish(&e->p);
	assert_int_equal(acpi_find_rsdp_bios(&e->m, &found), 0);
	assert_int_equal(found, 0xE0010);
	rc = acpi_parse(found, &e->m, &e->info, e->err, sizeof(e->err));
	expect_ok(e, rc);
	assert_int_equal(e->info.nr_cpus, 4);
}

/* ----------------------------------------------------------------------- */
/* Fatal faults                                                              */
/* ----------------------------------------------------------------------- */

static void test_rsdp_bad_signature(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w8(&e->fm, e->p.rsdp + 3, 'X');
	rsdp_fix(&e->fm, e->p.rsdp);
	expect_fault(e, parse(e), ACPI_ESIGNATURE, "RSDP: bad signature");
}

static void test_rsdp_bad_checksum(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w8(&e->fm, e->p.rsdp + 8, (uint8_t)(fm_at(&e->fm, e->p.rsdp)[8] + 0x11));
	expect_fault(e, parse(e), ACPI_ECHECKSUM, "RSDP: checksum mismatch (sum 0x11)");
}

static void test_rsdp_bad_extended_checksum(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w8(&e->fm, e->p.rsdp + 32, (uint8_t)(fm_at(&e->fm, e->p.rsdp)[32] + 0x20));
	expect_fault(e, parse(e), ACPI_ECHECKSUM, "RSDP: extended checksum mismatch (sum 0x20)");
}

static void test_rsdp_short_length(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w32(&e->fm, e->p.rsdp + 20, 20);
	rsdp_fix(&e->fm, e->p.rsdp);
	expect_fault(e, parse(e), ACPI_ELENGTH, "RSDP: length 20 smaller than 36");
}

static void test_rsdp_no_root(void **state)
{
	struct env *e = *state;

	e->p.rsdp = ab_rsdp(&e->fm, 0, 2, 0, 0);
	expect_fault(e, parse(e), ACPI_ENOTFOUND, "RSDP: neither an XSDT nor an RSDT");
	e->p.rsdp = 0;
	expect_fault(e, parse(e), ACPI_ENOTFOUND, "RSDP: no RSDP address");
	e->p.rsdp = 0x7000000000ull;
	expect_fault(e, parse(e), ACPI_EMAP, "RSDP: cannot map 0x7000000000");
}

/* The XSDT points outside memory: the mapper returns NULL. */
static void test_xsdt_unmappable(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	ab_rsdp(&e->fm, e->p.rsdp, 2, (uint32_t)e->p.rsdt, 0x80000000000ull);
	expect_fault(e, parse(e), ACPI_EMAP, "XSDT: cannot map header at 0x80000000000");
}

/* XSDT whose length covers the header but not its entries' worth of
 * memory: the second map (full length) fails. */
static void test_xsdt_runs_off_memory(void **state)
{
	struct env *e = *state;
	struct tb t;
	uint64_t x;

	tb_begin(&t, "XSDT", 1);
	tb_u64(&t, 0x1000);
	x = tb_place(&t, &e->fm);
	/* move it to the last 40 bytes of fake memory, then claim 100 */
	memcpy(fm_at(&e->fm, FM_SIZE - 40), fm_at(&e->fm, x), 44 - 4);
	x = FM_SIZE - 40;
	fm_w32(&e->fm, x + 4, 100);
	e->p.rsdp = ab_rsdp(&e->fm, 0, 2, 0, x);
	expect_fault(e, parse(e), ACPI_EMAP, "XSDT: cannot map 100 bytes");
}

static void test_xsdt_length_below_header(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w32(&e->fm, e->p.xsdt + 4, 20);
	fm_fix_checksum(&e->fm, e->p.xsdt);
	expect_fault(e, parse(e), ACPI_ELENGTH, "XSDT: length 20 smaller than header");
}

static void test_xsdt_length_not_multiple(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w32(&e->fm, e->p.xsdt + 4, 36 + 8 * 5 + 3);
	fm_fix_checksum(&e->fm, e->p.xsdt);
	expect_fault(e, parse(e), ACPI_ELENGTH, "XSDT: length 79 is not 36 plus a multiple of 8");
}

static void test_xsdt_bad_signature(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	memcpy(fm_at(&e->fm, e->p.xsdt), "XSDX", 4);
	fm_fix_checksum(&e->fm, e->p.xsdt);
	expect_fault(e, parse(e), ACPI_ESIGNATURE, "XSDT: bad signature \"XSDX\"");
}

static void test_rsdt_bad_checksum(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 0);
	ab_finish(&e->p);
	fm_w8(&e->fm, e->p.rsdt + 9, (uint8_t)(fm_at(&e->fm, e->p.rsdt)[9] + 1));
	expect_fault(e, parse(e), ACPI_ECHECKSUM, "RSDT: checksum mismatch (sum 0x01)");
}

static void test_madt_checksum(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w8(&e->fm, e->p.madt + 9, (uint8_t)(fm_at(&e->fm, e->p.madt)[9] + 0x3c));
	expect_fault(e, parse(e), ACPI_ECHECKSUM, "MADT: checksum mismatch (sum 0x3c)");
}

static void test_madt_length_huge(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w32(&e->fm, e->p.madt + 4, 0x80000000u);
	expect_fault(e, parse(e), ACPI_ELENGTH, "MADT: length 2147483648 exceeds the 1048576-byte limit");
}

static void test_madt_length_below_header(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w32(&e->fm, e->p.madt + 4, 35);
	expect_fault(e, parse(e), ACPI_ELENGTH, "MADT: length 35 smaller than header");
}

static void test_madt_no_fixed_part(void **state)
{
	struct env *e = *state;
	struct tb t;

	ab_default(&e->p, &e->fm, 2);
	tb_begin(&t, "APIC", 5);
	tb_u32(&t, 0xFEE00000);
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	expect_fault(e, parse(e), ACPI_ELENGTH, "MADT: length 40 smaller than its fixed part (44)");
}

static void test_madt_entry_length_zero(void **state)
{
	struct env *e = *state;
	struct tb t;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);     /* offset 44 */
	ab_madt_lapic(&t, 1, 1, ACPI_MADT_ENABLED);     /* offset 52 */
	tb_u8(&t, 1);                                   /* offset 60: I/O APIC, length 0 */
	tb_u8(&t, 0);
	tb_zero(&t, 10);
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	expect_fault(e, parse(e), ACPI_EMALFORMED, "MADT: entry type 1 at offset 60 has length 0");
	assert_string_equal(e->err, "MADT: entry type 1 at offset 60 has length 0");
}

static void test_madt_entry_overruns(void **state)
{
	struct env *e = *state;
	struct tb t;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);     /* offset 44 */
	tb_u8(&t, 9);                                   /* offset 52: x2APIC claiming 16 */
	tb_u8(&t, 16);
	tb_zero(&t, 6);                                 /* but only 8 bytes remain */
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	expect_fault(e, parse(e), ACPI_EMALFORMED,
		     "MADT: entry type 9 at offset 52 overruns the table (length 16, 8 bytes left)");
}

static void test_madt_entry_too_short_for_type(void **state)
{
	struct env *e = *state;
	struct tb t;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);
	tb_u8(&t, 0);                                   /* offset 52: LAPIC of length 6 */
	tb_u8(&t, 6);
	tb_zero(&t, 4);
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	expect_fault(e, parse(e), ACPI_EMALFORMED, "MADT: entry type 0 at offset 52 has length 6, needs 8");
}

static void test_madt_trailing_byte(void **state)
{
	struct env *e = *state;
	struct tb t;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);
	tb_u8(&t, 0);
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	expect_fault(e, parse(e), ACPI_EMALFORMED, "MADT: entry at offset 52 truncated");
}

static void test_madt_duplicate_apic_id(void **state)
{
	struct env *e = *state;
	struct tb t;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);
	ab_madt_lapic(&t, 1, 1, ACPI_MADT_ENABLED);
	ab_madt_lapic(&t, 2, 1, ACPI_MADT_ONLINE_CAPABLE);  /* offset 60 */
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	expect_fault(e, parse(e), ACPI_EDUPLICATE,
		     "MADT: APIC ID 1 listed twice (entry type 0 at offset 60)");
}

static void test_madt_duplicate_x2apic_id(void **state)
{
	struct env *e = *state;
	struct tb t;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);
	ab_madt_x2apic(&t, 1, 700, ACPI_MADT_ENABLED);  /* offset 52 */
	ab_madt_x2apic(&t, 2, 700, ACPI_MADT_ENABLED);  /* offset 68 */
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	expect_fault(e, parse(e), ACPI_EDUPLICATE, "MADT: APIC ID 700 listed twice (entry type 9 at offset 68)");
}

static void test_madt_no_enabled_cpu(void **state)
{
	struct env *e = *state;
	struct tb t;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ONLINE_CAPABLE);
	ab_madt_ioapic(&t, 0, 0xFEC00000, 0);
	e->p.madt = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	expect_fault(e, parse(e), ACPI_EMALFORMED, "MADT: no enabled processor");
}

static void test_madt_missing(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	e->p.madt = 0;
	ab_finish(&e->p);
	expect_fault(e, parse(e), ACPI_ENOTFOUND, "MADT: not found in the XSDT");
}

static void test_fadt_bad_checksum_is_fatal(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w8(&e->fm, e->p.fadt + 9, (uint8_t)(fm_at(&e->fm, e->p.fadt)[9] + 2));
	expect_fault(e, parse(e), ACPI_ECHECKSUM, "FADT: checksum mismatch (sum 0x02)");
}

static void test_fadt_too_short_is_fatal(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w32(&e->fm, e->p.fadt + 4, 100);
	fm_fix_checksum(&e->fm, e->p.fadt);
	expect_fault(e, parse(e), ACPI_ELENGTH, "FADT: length 100 smaller than the ACPI 1.0 FADT (116)");
}

/* ----------------------------------------------------------------------- */
/* Warnings: the table is skipped, the parse succeeds                        */
/* ----------------------------------------------------------------------- */

static void test_fadt_missing_is_warning(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	e->p.fadt = 0;
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	assert_false(e->info.has_fadt);
	assert_false(e->info.has_dsdt);
	expect_warning(e, "FADT: not found");
	assert_int_equal(e->info.nr_cpus, 4);
}

/* The DSDT ends in the middle of the _S5_ package. */
static void test_dsdt_truncated_aml(void **state)
{
	struct env *e = *state;
	struct ab_fadt f;
	static const uint8_t aml[] = {
		0x08, '_', 'S', '3', '_', 0x12, 0x04, 0x01, 0x0A, 0x05,  /* table offset 36 */
		0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0A, 0x07,  /* PackageOp at 51 */
	};

	ab_default(&e->p, &e->fm, 2);
	e->p.dsdt = ab_dsdt(&e->fm, aml, sizeof(aml));
	ab_default_fadt(&f, e->p.facs, e->p.dsdt);
	e->p.fadt = ab_fadt(&e->fm, &f);
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	assert_true(e->info.has_dsdt);
	assert_true(e->info.s3.valid);
	assert_int_equal(e->info.s3.slp_typa, 5);
	assert_int_equal(e->info.s3.slp_typb, 0);
	assert_false(e->info.s5.valid);
	expect_warning(e, "DSDT: _S5_ package at offset 51 truncated (needs 6 bytes, 4 left)");
}

static void test_dsdt_bad_checksum_is_warning(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w8(&e->fm, e->p.dsdt + 9, (uint8_t)(fm_at(&e->fm, e->p.dsdt)[9] + 7));
	expect_ok(e, parse(e));
	assert_false(e->info.has_dsdt);
	assert_false(e->info.s5.valid);
	expect_warning(e, "DSDT: checksum mismatch (sum 0x07)");
	assert_false(find_table(&e->info, "DSDT")->valid);
}

static void test_dsdt_unmappable_is_warning(void **state)
{
	struct env *e = *state;
	struct ab_fadt f;

	ab_default(&e->p, &e->fm, 2);
	ab_default_fadt(&f, e->p.facs, 0x900000000ull);
	e->p.fadt = ab_fadt(&e->fm, &f);
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	assert_false(e->info.has_dsdt);
	expect_warning(e, "DSDT: cannot map header at 0x900000000");
}

static void test_facs_bad_is_warning(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	memcpy(fm_at(&e->fm, e->p.facs), "FACX", 4);
	expect_ok(e, parse(e));
	assert_false(e->info.has_facs);
	expect_warning(e, "FACS: bad signature");

	memcpy(fm_at(&e->fm, e->p.facs), "FACS", 4);
	fm_w32(&e->fm, e->p.facs + 4, 32);
	expect_ok(e, parse(e));
	assert_false(e->info.has_facs);
	expect_warning(e, "FACS: length 32 smaller than 64");
}

static void test_hpet_io_space_is_warning(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	e->p.hpet = ab_hpet(&e->fm, ACPI_GAS_IO, 0xFED00000, 0x8086A201);
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	assert_false(e->info.has_hpet);
	assert_int_equal(e->info.nr_warnings, 1);
	expect_warning(e, "HPET: base address in address space 1, not system memory");
	/* everything else still parsed */
	assert_true(e->info.has_spcr);
	assert_int_equal(e->info.nr_cpus, 4);
}

static void test_hpet_bad_checksum_and_short(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w8(&e->fm, e->p.hpet + 9, (uint8_t)(fm_at(&e->fm, e->p.hpet)[9] + 1));
	expect_ok(e, parse(e));
	assert_false(e->info.has_hpet);
	expect_warning(e, "HPET: checksum mismatch (sum 0x01)");

	fm_w32(&e->fm, e->p.hpet + 4, 50);
	fm_fix_checksum(&e->fm, e->p.hpet);
	expect_ok(e, parse(e));
	assert_false(e->info.has_hpet);
	expect_warning(e, "HPET: length 50 smaller than 56");
}

static void test_spcr_bad_space_is_warning(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	e->p.spcr = ab_spcr(&e->fm, 2, 0, ACPI_GAS_PCI_CFG, 0x3F8, 1, 4, 4, 7);
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	assert_false(e->info.has_spcr);
	expect_warning(e, "SPCR: base address in address space 2, not memory or I/O");

	e->p.spcr = ab_spcr(&e->fm, 2, 0, ACPI_GAS_IO, 0x2F8, 1, 3, 3, 5);
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	assert_true(e->info.has_spcr);
	assert_int_equal(e->info.spcr_baud, 0);
	expect_warning(e, "SPCR: reserved baud rate code 5");

	/* address 0: redirection disabled, no console, no warning */
	e->p.spcr = ab_spcr(&e->fm, 2, 0, ACPI_GAS_IO, 0, 1, 3, 3, 7);
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	assert_false(e->info.has_spcr);
	expect_no_warnings(e);
}

/* Broken optional table of unknown kind: warning, listed as invalid. */
static void test_unknown_table_bad_checksum(void **state)
{
	struct env *e = *state;
	const struct acpi_table_desc *d;

	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	fm_w8(&e->fm, e->p.ssdt + 9, (uint8_t)(fm_at(&e->fm, e->p.ssdt)[9] + 0x80));
	expect_ok(e, parse(e));
	expect_warning(e, "SSDT: checksum mismatch (sum 0x80)");
	d = find_table(&e->info, "SSDT");
	assert_non_null(d);
	assert_false(d->valid);
}

static void test_root_entry_faults_are_warnings(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	e->p.extra[e->p.nr_extra++] = 0x7000000000ull;  /* entry 5: unmappable */
	e->p.extra[e->p.nr_extra++] = 0;                /* entry 6: null */
	e->p.extra[e->p.nr_extra++] = e->p.hpet;        /* entry 7: repeat */
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	expect_warning(e, "XSDT: entry 5 (0x7000000000) cannot be mapped; skipped");
	expect_warning(e, "XSDT: entry 6 is null; skipped");
	expect_warning(e, "XSDT: entry 7 repeats table");
	assert_true(e->info.has_hpet);
	assert_int_equal(e->info.nr_warnings, 3);
}

/* Two MADTs: the first wins; a broken second one is only a warning. */
static void test_duplicate_madt(void **state)
{
	struct env *e = *state;
	uint64_t second, broken;
	struct tb t;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 9, ACPI_MADT_ENABLED);
	second = tb_place(&t, &e->fm);
	ab_madt_begin(&t, 5, 0xFEE00000, 1);
	tb_u8(&t, 0);
	tb_u8(&t, 0);
	broken = tb_place(&t, &e->fm);
	fm_w8(&e->fm, broken + 9, 0x55);            /* and a bad checksum */
	e->p.extra[e->p.nr_extra++] = second;
	e->p.extra[e->p.nr_extra++] = broken;
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	assert_int_equal(e->info.madt_phys, e->p.madt);
	assert_int_equal(e->info.nr_cpus, 4);
	expect_warning(e, "XSDT: second MADT at", "ignored");
	expect_warning(e, "MADT: checksum mismatch");
}

/* An absurdly long XSDT: only the first 512 entries are examined. */
static void test_xsdt_entry_cap(void **state)
{
	struct env *e = *state;
	uint64_t *list = calloc(600, sizeof(*list));
	uint64_t late;

	assert_non_null(list);
	ab_default(&e->p, &e->fm, 2);
	late = ab_hpet(&e->fm, ACPI_GAS_MEMORY, 0xFED01000, 0);
	list[0] = e->p.fadt;
	list[1] = e->p.madt;
	for (int k = 2; k < 600; k++)
		list[k] = e->p.ssdt;
	list[599] = late;                           /* beyond the cap: never seen */
	e->p.xsdt = ab_xsdt(&e->fm, list, 600);
	e->p.rsdp = ab_rsdp(&e->fm, 0, 2, 0, e->p.xsdt);
	free(list);
	expect_ok(e, parse(e));
	assert_string_equal(e->info.warnings[0], "XSDT: 600 entries; only the first 512 examined");
	assert_false(e->info.has_hpet);
	/* entries 3..511 repeat entry 2 */
	assert_int_equal(e->info.nr_warnings + e->info.warnings_lost, 1 + 509);
	assert_int_equal(e->info.nr_cpus, 4);
}

/* A structurally broken second MADT (what tests/scenarios/acpi.py injects
 * through QEMU's -acpitable): the fault is reported precisely, the table
 * ignored, the CPUs come from the first MADT. */
static void test_duplicate_madt_bad_entry(void **state)
{
	struct env *e = *state;
	struct tb t;

	ab_default(&e->p, &e->fm, 2);
	ab_madt_begin(&t, 3, 0xFEE00000, 1);
	ab_madt_lapic(&t, 0, 0, ACPI_MADT_ENABLED);
	tb_u8(&t, 0);                                   /* offset 52 = 0x34: length 0 */
	tb_u8(&t, 0);
	tb_zero(&t, 6);
	e->p.extra[e->p.nr_extra++] = tb_place(&t, &e->fm);
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	assert_int_equal(e->info.nr_cpus, 4);
	assert_int_equal(e->info.madt_phys, e->p.madt);
	expect_warning(e, "MADT: entry type 0 at offset 52 has length 0");
	expect_warning(e, "XSDT: second MADT at", "ignored");
	assert_int_equal(e->info.nr_warnings, 2);
}

/* More warnings than slots: the rest are counted. */
static void test_warning_overflow(void **state)
{
	struct env *e = *state;

	ab_default(&e->p, &e->fm, 2);
	for (int k = 0; k < 8; k++)
		e->p.extra[e->p.nr_extra++] = 0;
	e->p.hpet = ab_hpet(&e->fm, ACPI_GAS_IO, 0xFED00000, 0);
	e->p.spcr = ab_spcr(&e->fm, 2, 0, ACPI_GAS_PCI_CFG, 0x3F8, 1, 4, 4, 7);
	ab_finish(&e->p);
	expect_ok(e, parse(e));
	assert_int_equal(e->info.nr_warnings, ACPI_MAX_WARNINGS);
	assert_int_equal(e->info.warnings_lost, 2);
	for (int k = 0; k < ACPI_MAX_WARNINGS; k++)
		assert_true(strlen(e->info.warnings[k]) < ACPI_WARNING_LEN);
}

/* err may be NULL or tiny; out must be non-NULL. */
static void test_err_buffer_handling(void **state)
{
	struct env *e = *state;
	char small[8];

	ab_default(&e->p, &e->fm, 2);
	e->p.madt = 0;
	ab_finish(&e->p);
	assert_int_equal(acpi_parse(e->p.rsdp, &e->m, &e->info, NULL, 0), ACPI_ENOTFOUND);
	memset(small, 'X', sizeof(small));
	assert_int_equal(acpi_parse(e->p.rsdp, &e->m, &e->info, small, sizeof(small)),
			 ACPI_ENOTFOUND);
	assert_string_equal(small, "MADT: n");
	assert_int_equal(acpi_parse(e->p.rsdp, &e->m, NULL, small, sizeof(small)), ACPI_EINVAL);
	assert_int_equal(acpi_parse(e->p.rsdp, NULL, &e->info, small, sizeof(small)), ACPI_EINVAL);
	assert_string_equal(acpi_strerror(ACPI_EDUPLICATE), "duplicate APIC ID");
	assert_string_equal(acpi_strerror(-999), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_v2_xsdt_full),
		T(test_v1_rsdt),
		T(test_v2_without_xsdt_uses_rsdt),
		T(test_fadt_x_fields_preferred),
		T(test_fadt_x_dsdt_disagree),
		T(test_fadt_hw_reduced),
		T(test_fadt_bad_reset_reg),
		T(test_fadt_odd_gpe0_len),
		T(test_madt_cpu_flags),
		T(test_madt_online_capable_needs_acpi_6_3),
		T(test_madt_lapic_override),
		T(test_madt_xapic_x2apic_same_cpu),
		T(test_madt_too_many_cpus),
		T(test_spcr_mmio_precise_baud),
		T(test_find_rsdp_ebda_first),
		T(test_find_rsdp_rom_area),
		T(test_find_rsdp_none),
		T(test_find_then_parse),
		T(test_rsdp_bad_signature),
		T(test_rsdp_bad_checksum),
		T(test_rsdp_bad_extended_checksum),
		T(test_rsdp_short_length),
		T(test_rsdp_no_root),
		T(test_xsdt_unmappable),
		T(test_xsdt_runs_off_memory),
		T(test_xsdt_length_below_header),
		T(test_xsdt_length_not_multiple),
		T(test_xsdt_bad_signature),
		T(test_rsdt_bad_checksum),
		T(test_madt_checksum),
		T(test_madt_length_huge),
		T(test_madt_length_below_header),
		T(test_madt_no_fixed_part),
		T(test_madt_entry_length_zero),
		T(test_madt_entry_overruns),
		T(test_madt_entry_too_short_for_type),
		T(test_madt_trailing_byte),
		T(test_madt_duplicate_apic_id),
		T(test_madt_duplicate_x2apic_id),
		T(test_madt_no_enabled_cpu),
		T(test_madt_missing),
		T(test_fadt_bad_checksum_is_fatal),
		T(test_fadt_too_short_is_fatal),
		T(test_fadt_missing_is_warning),
		T(test_dsdt_truncated_aml),
		T(test_dsdt_bad_checksum_is_warning),
		T(test_dsdt_unmappable_is_warning),
		T(test_facs_bad_is_warning),
		T(test_hpet_io_space_is_warning),
		T(test_hpet_bad_checksum_and_short),
		T(test_spcr_bad_space_is_warning),
		T(test_unknown_table_bad_checksum),
		T(test_root_entry_faults_are_warnings),
		T(test_duplicate_madt),
		T(test_duplicate_madt_bad_entry),
		T(test_xsdt_entry_cap),
		T(test_warning_overflow),
		T(test_err_buffer_handling),
#undef T
	};

	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}

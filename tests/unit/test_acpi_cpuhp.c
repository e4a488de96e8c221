/*
 * Host tests for QEMU's CPU-hotplug block: finding it in the DSDT
 * (drivers/acpi/aml_cpuhp.c) and its register protocol
 * (drivers/acpi/cpuhp_block.c) against a model of QEMU 7.2's registers
 * (hw/acpi/cpu.c and hw/acpi/cpu_hotplug.c behaviour, as documented in
 * QEMU's docs/specs/acpi_cpu_hotplug.rst): legacy mode until a dword 0 is
 * written at the base, then selector / flags / command / data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/acpi.h>
#include <vigil/acpi_cpuhp.h>

/* ---- the DSDT scan ---- */

struct found {
	int rc;
	uint16_t port;
	char msg[128];
};

static struct found scan(const uint8_t *aml, size_t len)
{
	struct found f;
	uint8_t *copy = malloc(len ? len : 1);   /* exact size: ASan sees overreads */
	assert_non_null(copy);
	if (len)
		memcpy(copy, aml, len);
	memset(&f, 0, sizeof(f));
	f.rc = acpi_aml_find_cpu_hotplug(copy, len, &f.port, f.msg, sizeof(f.msg));
	free(copy);
	return f;
}
#define SCAN(a) scan(a, sizeof(a))

/* What QEMU 7.2 emits for q35: OperationRegion (PRST, SystemIO, 0x0CD8, 0x0C),
 * after a look-alike field that is not a region. */
static const uint8_t qemu_region[] = {
	'P', 'R', 'S', 'T', 0x5B, 0x81,                 /* FieldOp mentioning PRST: not a region */
	0x5B, 0x80, 'P', 'R', 'S', 'T', 0x01, 0x0B, 0xD8, 0x0C, 0x0A, 0x0C,
};

static void test_finds_qemu_region(void **state)
{
	(void)state;
	struct found f = SCAN(qemu_region);
	assert_int_equal(f.rc, 1);
	assert_int_equal(f.port, 0x0CD8);
}

static void test_root_prefix_and_dword(void **state)
{
	(void)state;
	static const uint8_t aml[] = { 0x5B, 0x80, 0x5C, 'P', 'R', 'S', 'T', 0x01, 0x0C, 0x00, 0xAF, 0, 0, 0x0A, 0x0C };
	struct found f = SCAN(aml);
	assert_int_equal(f.rc, 1);
	assert_int_equal(f.port, 0xAF00);
}

static void test_absent_and_other_regions(void **state)
{
	(void)state;
	static const uint8_t other[] = { 0x5B, 0x80, 'P', 'I', 'R', 'Q', 0x02, 0x0A, 0x60, 0x0A, 0x0C };
	struct found f = SCAN(other);
	assert_int_equal(f.rc, 0);
	assert_int_equal(f.port, 0);
	f = scan(NULL, 0);
	assert_int_equal(f.rc, 0);
}

static void test_legacy_or_bad_regions_refused(void **state)
{
	(void)state;
	/* The legacy PIIX present-CPU bitmap: 32 bytes, another protocol. */
	static const uint8_t legacy[] = { 0x5B, 0x80, 'P', 'R', 'S', 'T', 0x01, 0x0B, 0x00, 0xAF, 0x0A, 0x20 };
	struct found f = SCAN(legacy);
	assert_int_equal(f.rc, ACPI_EMALFORMED);
	assert_int_equal(f.port, 0);
	assert_non_null(strstr(f.msg, "not the 12-byte CPU hotplug block"));
	/* Memory space instead of I/O. */
	static const uint8_t mmio[] = { 0x5B, 0x80, 'P', 'R', 'S', 'T', 0x00, 0x0B, 0xD8, 0x0C, 0x0A, 0x0C };
	f = SCAN(mmio);
	assert_int_equal(f.rc, ACPI_EMALFORMED);
	assert_non_null(strstr(f.msg, "system I/O"));
	/* A computed address (a method call), not a constant. */
	static const uint8_t computed[] = { 0x5B, 0x80, 'P', 'R', 'S', 'T', 0x01, 'F', 'O', 'O', '_', 0x0A, 0x0C };
	f = SCAN(computed);
	assert_int_equal(f.rc, ACPI_EMALFORMED);
	/* A block that would run past port 0xFFFF. */
	static const uint8_t wrap[] = { 0x5B, 0x80, 'P', 'R', 'S', 'T', 0x01, 0x0B, 0xF8, 0xFF, 0x0A, 0x0C };
	f = SCAN(wrap);
	assert_int_equal(f.rc, ACPI_EMALFORMED);
	assert_int_equal(f.port, 0);
}

static void test_truncated_at_every_byte(void **state)
{
	(void)state;
	for (size_t n = 0; n < sizeof(qemu_region); n++) {
		struct found f = scan(qemu_region, n);
		assert_true(f.rc <= 0);   /* never found in a cut-off region, never a crash */
		assert_int_equal(f.port, 0);
	}
}

/* ---- the register protocol against a model of QEMU's block ---- */

#define BASE 0x0CD8
#define NCPUS 4

struct model {
	bool legacy;
	uint32_t selector;
	uint8_t command;
	struct { bool present, inserting, removing, ejected; uint32_t apic_id; } cpu[NCPUS];
	unsigned bad_accesses;
};

static uint8_t m_in8(void *ctx, uint16_t port)
{
	struct model *m = ctx;
	if (m->legacy) {   /* the present bitmap, one bit per APIC ID */
		uint8_t v = 0;
		for (unsigned i = 0; i < NCPUS; i++)
			if (m->cpu[i].present && m->cpu[i].apic_id / 8 == (uint32_t)(port - BASE))
				v |= (uint8_t)(1u << (m->cpu[i].apic_id % 8));
		return v;
	}
	if (port != BASE + ACPI_CPUHP_FLAGS || m->selector >= NCPUS) {
		m->bad_accesses++;
		return 0;
	}
	return (uint8_t)((m->cpu[m->selector].present ? 1 : 0) | (m->cpu[m->selector].inserting ? 2 : 0) |
			 (m->cpu[m->selector].removing ? 4 : 0));
}

static uint32_t m_in32(void *ctx, uint16_t port)
{
	struct model *m = ctx;
	if (m->legacy)
		return m_in8(ctx, port);
	if (m->selector >= NCPUS)
		return 0;
	if (port == BASE + ACPI_CPUHP_SELECTOR)   /* "command data 2" */
		return 0;
	if (port != BASE + ACPI_CPUHP_DATA) {
		m->bad_accesses++;
		return 0;
	}
	if (m->command == ACPI_CPUHP_CMD_NEXT_EVENT)
		return m->selector;
	if (m->command == ACPI_CPUHP_CMD_GET_ID)
		return m->cpu[m->selector].apic_id;
	return 0;
}

static void m_out8(void *ctx, uint16_t port, uint8_t v)
{
	struct model *m = ctx;
	if (m->legacy || m->selector >= NCPUS) {
		m->bad_accesses++;
		return;
	}
	if (port == BASE + ACPI_CPUHP_FLAGS) {
		/* QEMU acts on one bit per write, in this order. */
		if (v & 2)
			m->cpu[m->selector].inserting = false;
		else if (v & 4)
			m->cpu[m->selector].removing = false;
		else if (v & 8) {
			m->cpu[m->selector].present = false;
			m->cpu[m->selector].ejected = true;
		}
	} else if (port == BASE + ACPI_CPUHP_COMMAND) {
		m->command = v;
		if (v == ACPI_CPUHP_CMD_NEXT_EVENT) {
			uint32_t it = m->selector;
			do {
				if (m->cpu[it].inserting || m->cpu[it].removing) {
					m->selector = it;
					break;
				}
				it = (it + 1) % NCPUS;
			} while (it != m->selector);
		}
	} else {
		m->bad_accesses++;
	}
}

static void m_out32(void *ctx, uint16_t port, uint32_t v)
{
	struct model *m = ctx;
	if (port != BASE + ACPI_CPUHP_SELECTOR) {
		m->bad_accesses++;
		return;
	}
	if (m->legacy) {
		if (v == 0)
			m->legacy = false;   /* the switch to the modern interface */
		return;
	}
	m->selector = v;
}

static struct model model;
static const struct acpi_cpuhp_io io = { m_in8, m_in32, m_out8, m_out32, &model, BASE };

static void model_boot(bool legacy)
{
	memset(&model, 0, sizeof(model));
	model.legacy = legacy;
	model.selector = 1;
	for (unsigned i = 0; i < NCPUS; i++)
		model.cpu[i].apic_id = i * 2;   /* APIC IDs need not equal selectors */
	model.cpu[0].present = model.cpu[1].present = true;
}

static void test_init_leaves_legacy_mode(void **state)
{
	(void)state;
	model_boot(true);
	assert_int_equal(acpi_cpuhp_init(&io), 0);
	assert_false(model.legacy);
	assert_int_equal(model.bad_accesses, 0);
	/* Already modern: the same write is a harmless selector. */
	model_boot(false);
	assert_int_equal(acpi_cpuhp_init(&io), 0);
	assert_int_equal(model.bad_accesses, 0);
}

static void test_init_refuses_a_block_that_does_not_answer(void **state)
{
	(void)state;
	model_boot(false);
	model.cpu[0].present = false;   /* CPU 0 (the boot CPU) must be present */
	assert_int_equal(acpi_cpuhp_init(&io), -1);
}

static void test_no_event(void **state)
{
	(void)state;
	struct acpi_cpuhp_event ev;
	model_boot(false);
	assert_int_equal(acpi_cpuhp_init(&io), 0);
	assert_int_equal(acpi_cpuhp_next_event(&io, &ev), 0);
}

static void test_insert_then_remove_and_eject(void **state)
{
	(void)state;
	struct acpi_cpuhp_event ev;
	model_boot(true);
	assert_int_equal(acpi_cpuhp_init(&io), 0);
	model.cpu[3].present = model.cpu[3].inserting = true;
	model.cpu[2].present = model.cpu[2].inserting = true;

	/* Both found, lowest selector first, with their APIC IDs. */
	assert_int_equal(acpi_cpuhp_next_event(&io, &ev), 1);
	assert_int_equal(ev.selector, 2);
	assert_int_equal(ev.apic_id, 4);
	assert_true(ev.insert && ev.enabled && !ev.remove);
	/* Not cleared: found again. */
	assert_int_equal(acpi_cpuhp_next_event(&io, &ev), 1);
	assert_int_equal(ev.selector, 2);
	acpi_cpuhp_control(&io, 2, ACPI_CPUHP_W_CLEAR_INSERT);
	assert_int_equal(acpi_cpuhp_next_event(&io, &ev), 1);
	assert_int_equal(ev.selector, 3);
	assert_int_equal(ev.apic_id, 6);
	acpi_cpuhp_control(&io, 3, ACPI_CPUHP_W_CLEAR_INSERT);
	assert_int_equal(acpi_cpuhp_next_event(&io, &ev), 0);

	model.cpu[2].removing = true;
	assert_int_equal(acpi_cpuhp_next_event(&io, &ev), 1);
	assert_int_equal(ev.selector, 2);
	assert_true(ev.remove && !ev.insert);
	acpi_cpuhp_control(&io, ev.selector, ACPI_CPUHP_W_CLEAR_REMOVE);
	acpi_cpuhp_control(&io, ev.selector, ACPI_CPUHP_W_EJECT);
	assert_true(model.cpu[2].ejected);
	assert_false(model.cpu[3].ejected);
	assert_int_equal(acpi_cpuhp_next_event(&io, &ev), 0);
	assert_int_equal(model.bad_accesses, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_finds_qemu_region),
		cmocka_unit_test(test_root_prefix_and_dword),
		cmocka_unit_test(test_absent_and_other_regions),
		cmocka_unit_test(test_legacy_or_bad_regions_refused),
		cmocka_unit_test(test_truncated_at_every_byte),
		cmocka_unit_test(test_init_leaves_legacy_mode),
		cmocka_unit_test(test_init_refuses_a_block_that_does_not_answer),
		cmocka_unit_test(test_no_event),
		cmocka_unit_test(test_insert_then_remove_and_eject),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

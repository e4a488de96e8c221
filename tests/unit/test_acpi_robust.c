/*
 * Robustness of acpi_parse() against corrupted tables: random byte edits
 * (checksums repaired so the parser goes past the header checks), every
 * truncation of the MADT and DSDT, every length of the root table.  The
 * mapper hands out exact-size heap copies (acpi_builder.c), so any read
 * beyond what the parser mapped is reported by AddressSanitizer; the tests
 * themselves check that every outcome is well-formed: 0, or a negative code
 * with a message that starts with a table name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
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
	uint8_t *pristine;   /* fake memory [0, used) after building */
	size_t used;
	char err[160];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	fm_init(&e->fm);
	e->m = fm_mapper(&e->fm);
	ab_default(&e->p, &e->fm, 2);
	ab_finish(&e->p);
	e->used = e->fm.next;
	e->pristine = malloc(e->used);
	if (!e->pristine)
		return -1;
	memcpy(e->pristine, e->fm.buf, e->used);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	free(e->pristine);
	fm_fini(&e->fm);
	free(e);
	return 0;
}

static void restore(struct env *e)
{
	memcpy(e->fm.buf, e->pristine, e->used);
}

static const char *const table_names[] = {
	"RSDP", "RSDT", "XSDT", "MADT", "FADT", "FACS", "DSDT", "HPET", "SPCR", "SSDT",
};

/* Parse and check the outcome is well-formed; returns rc. */
static int parse_checked(struct env *e)
{
	int rc;

	memset(e->err, 'X', sizeof(e->err));
	rc = acpi_parse(e->p.rsdp, &e->m, &e->info, e->err, sizeof(e->err));
	fm_release(&e->fm);
	assert_true(rc <= 0);
	assert_true(memchr(e->err, '\0', sizeof(e->err)) != NULL);
	if (rc < 0) {
		bool named = false;

		for (size_t k = 0; k < sizeof(table_names) / sizeof(table_names[0]); k++)
			named = named || !strncmp(e->err, table_names[k], 4);
		if (!named || e->err[4] != ':')
			fail_msg("rc %d with unnamed message \"%s\"", rc, e->err);
	} else {
		assert_string_equal(e->err, "");
		assert_true(e->info.nr_cpus >= 1 && e->info.nr_cpus <= ACPI_MAX_CPUS);
		assert_true(e->info.nr_cpus_enabled >= 1);
	}
	assert_true(e->info.nr_warnings <= ACPI_MAX_WARNINGS);
	for (uint32_t k = 0; k < e->info.nr_warnings; k++)
		assert_true(memchr(e->info.warnings[k], '\0', ACPI_WARNING_LEN) != NULL);
	assert_true(e->info.nr_tables <= ACPI_MAX_TABLES);
	return rc;
}

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* The pristine platform parses cleanly (the baseline for the rest). */
static void test_baseline(void **state)
{
	struct env *e = *state;

	assert_int_equal(parse_checked(e), 0);
	assert_int_equal(e->info.nr_warnings, 0);
}

/* 1-4 random byte edits inside one table, checksum usually repaired. */
static void test_random_edits(void **state)
{
	struct env *e = *state;
	const uint64_t tables[] = {
		e->p.xsdt, e->p.rsdt, e->p.madt, e->p.fadt, e->p.dsdt, e->p.hpet, e->p.spcr,
		e->p.ssdt,
	};
	uint32_t x = 0xC0FFEE;
	int ok = 0, failed = 0;

	for (int iter = 0; iter < 6000; iter++) {
		uint64_t t = tables[rnd(&x) % (sizeof(tables) / sizeof(tables[0]))];
		uint32_t len;
		int edits = 1 + rnd(&x) % 4;

		restore(e);
		len = fm_at(&e->fm, t)[4] | fm_at(&e->fm, t)[5] << 8;
		for (int k = 0; k < edits; k++) {
			/* bias towards the header's length field and small values */
			uint32_t off = (rnd(&x) % 4 == 0) ? 4 + rnd(&x) % 4 : rnd(&x) % len;
			uint8_t v = (rnd(&x) % 2) ? (uint8_t)rnd(&x) : (uint8_t)(rnd(&x) % 4);

			fm_w8(&e->fm, t + off, v);
		}
		if (rnd(&x) % 8) {
			uint32_t nlen = fm_at(&e->fm, t)[4] | fm_at(&e->fm, t)[5] << 8 |
					fm_at(&e->fm, t)[6] << 16 | (uint32_t)fm_at(&e->fm, t)[7] << 24;

			if (nlen >= 10 && t + nlen <= e->fm.size)
				fm_fix_checksum(&e->fm, t);
		}
		if (parse_checked(e) == 0)
			ok++;
		else
			failed++;
	}
	/* both outcomes must have been exercised */
	assert_true(ok > 100);
	assert_true(failed > 100);
}

/* Random edits of the RSDP itself (both checksums repaired half the time). */
static void test_random_rsdp_edits(void **state)
{
	struct env *e = *state;
	uint32_t x = 777;

	for (int iter = 0; iter < 2000; iter++) {
		restore(e);
		fm_w8(&e->fm, e->p.rsdp + rnd(&x) % 36, (uint8_t)rnd(&x));
		if (rnd(&x) % 2) {
			uint8_t *p = fm_at(&e->fm, e->p.rsdp);
			uint8_t s = 0;

			p[8] = 0;
			for (int k = 0; k < 20; k++)
				s = (uint8_t)(s + p[k]);
			p[8] = (uint8_t)-s;
			p[32] = 0;
			s = 0;
			for (int k = 0; k < 36; k++)
				s = (uint8_t)(s + p[k]);
			p[32] = (uint8_t)-s;
		}
		parse_checked(e);
	}
}

/* Every MADT length from 0 to the real one, checksum repaired: a length on
 * an entry boundary after the first CPU entry is a valid (shorter) MADT;
 * any other is fatal and blamed on the MADT; never a bad read. */
static void test_madt_every_length(void **state)
{
	struct env *e = *state;
	bool boundary[512] = { false };
	uint32_t full, off;

	restore(e);
	full = fm_at(&e->fm, e->p.madt)[4];
	assert_true(full < sizeof(boundary));
	/* the default MADT starts with CPU entries, so every boundary after
	 * the first entry leaves at least one enabled CPU */
	for (off = 44; off < full; off += fm_at(&e->fm, e->p.madt + off)[1])
		boundary[off + fm_at(&e->fm, e->p.madt + off)[1]] = true;
	for (uint32_t len = 0; len <= full; len++) {
		int rc;

		restore(e);
		fm_w32(&e->fm, e->p.madt + 4, len);
		fm_fix_checksum(&e->fm, e->p.madt);
		rc = parse_checked(e);
		if (boundary[len]) {
			assert_int_equal(rc, 0);
		} else if (rc >= 0 || strncmp(e->err, "MADT:", 5)) {
			fail_msg("length %u: rc %d \"%s\"", len, rc, e->err);
		}
	}
}

/* Every DSDT length: the parse always succeeds (the DSDT is optional). */
static void test_dsdt_every_length(void **state)
{
	struct env *e = *state;
	uint32_t full;

	restore(e);
	full = fm_at(&e->fm, e->p.dsdt)[4];
	for (uint32_t len = 0; len <= full; len++) {
		restore(e);
		fm_w32(&e->fm, e->p.dsdt + 4, len);
		fm_fix_checksum(&e->fm, e->p.dsdt);
		assert_int_equal(parse_checked(e), 0);
		if (len == full)
			assert_true(e->info.s5.valid && e->info.s3.valid);
	}
}

/* Every FADT length from the header up: below 116 fatal, above it fine. */
static void test_fadt_every_length(void **state)
{
	struct env *e = *state;
	uint32_t full;

	restore(e);
	full = fm_at(&e->fm, e->p.fadt)[4] | fm_at(&e->fm, e->p.fadt)[5] << 8;
	for (uint32_t len = 36; len <= full; len++) {
		int rc;

		restore(e);
		fm_w32(&e->fm, e->p.fadt + 4, len);
		fm_fix_checksum(&e->fm, e->p.fadt);
		rc = parse_checked(e);
		if (len < 116)
			assert_int_equal(rc, ACPI_ELENGTH);
		else
			assert_int_equal(rc, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_baseline),
		T(test_random_edits),
		T(test_random_rsdp_edits),
		T(test_madt_every_length),
		T(test_dsdt_every_length),
		T(test_fadt_every_length),
#undef T
	};

	return cmocka_run_group_tests_name("acpi_robust", tests, NULL, NULL);
}

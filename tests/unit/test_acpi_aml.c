/*
 * Host tests for the \_Sx sleep-type scan over AML (drivers/acpi/aml_sleep.c):
 * every integer encoding iASL and hand-written tables use, multi-byte
 * package lengths, look-alike bytes that are not the name, and truncation
 * at every byte.  Each input is copied into a heap block of exactly its
 * length so AddressSanitizer catches any read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/acpi.h>

struct result {
	int rc;
	struct acpi_sleep_type st;
	char msg[128];
};

static struct result scan(const uint8_t *aml, size_t len, const char *name)
{
	struct result r;
	uint8_t *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	if (len)
		memcpy(copy, aml, len);
	memset(&r, 0, sizeof(r));
	r.rc = acpi_aml_find_sleep_type(copy, len, name, &r.st, r.msg, sizeof(r.msg));
	free(copy);
	return r;
}

#define SCAN(arr, name) scan(arr, sizeof(arr), name)

static void expect_found(struct result r, uint8_t a, uint8_t b)
{
	if (r.rc != 1)
		fail_msg("rc %d (%s)", r.rc, r.msg);
	assert_true(r.st.valid);
	assert_int_equal(r.st.slp_typa, a);
	assert_int_equal(r.st.slp_typb, b);
}

static void expect_error(struct result r, int code, const char *frag)
{
	if (r.rc != code)
		fail_msg("rc %d, want %d (%s)", r.rc, code, r.msg);
	assert_false(r.st.valid);
	if (!strstr(r.msg, frag))
		fail_msg("message \"%s\" lacks \"%s\"", r.msg, frag);
}

static void test_zero_one_ops(void **state)
{
	(void)state;
	static const uint8_t aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x01, 0x00, 0x00, 0x00 };
	expect_found(SCAN(aml, "_S5_"), 1, 0);
}

static void test_byte_prefix(void **state)
{
	(void)state;
	static const uint8_t aml[] = { 0x08, '_', 'S', '3', '_', 0x12, 0x06, 0x02, 0x0A, 0x05, 0x0A, 0x03 };
	expect_found(SCAN(aml, "_S3_"), 5, 3);
}

static void test_word_dword_qword_prefixes(void **state)
{
	(void)state;
	static const uint8_t aml[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x0E, 0x03,
		0x0B, 0x07, 0x00,                              /* WordConst 7 */
		0x0E, 0x06, 0, 0, 0, 0, 0, 0, 0,               /* QWordConst 6 */
		0x0C, 0x01, 0, 0, 0,                           /* DWordConst 1 (ignored) */
	};
	/* pkglen 0x0E ends after element 1: element 2 lies outside, never read */
	expect_found(SCAN(aml, "_S5_"), 7, 6);
}

static void test_plain_bytes(void **state)
{
	(void)state;
	/* not valid AML, but what hand-written tables and simple scanners do */
	static const uint8_t aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x07, 0x07 };
	expect_found(SCAN(aml, "_S5_"), 7, 7);
}

static void test_root_prefix(void **state)
{
	(void)state;
	static const uint8_t aml[] = { 0x08, 0x5C, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0A, 0x07, 0x00 };
	expect_found(SCAN(aml, "_S5_"), 7, 0);
}

/* ACPI 1.0 style: one integer, SLP_TYPa in bits 7-0 and SLP_TYPb in 15-8. */
static void test_single_element(void **state)
{
	(void)state;
	static const uint8_t aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x01, 0x0B, 0x05, 0x07 };
	expect_found(SCAN(aml, "_S5_"), 5, 7);
}

/* A 2-byte PkgLength (lead 0x4N): package of 70 bytes with padding. */
static void test_two_byte_pkglength(void **state)
{
	uint8_t aml[5 + 1 + 70];
	size_t pkglen = 70 - 0;   /* counted from the PkgLength lead byte */

	(void)state;
	memset(aml, 0, sizeof(aml));
	memcpy(aml, "\x08_S5_\x12", 6);
	aml[6] = (uint8_t)(0x40 | (pkglen & 0x0F));
	aml[7] = (uint8_t)(pkglen >> 4);
	aml[8] = 4;                      /* NumElements */
	aml[9] = 0x0A;
	aml[10] = 0x03;
	aml[11] = 0x0A;
	aml[12] = 0x04;
	expect_found(scan(aml, 6 + pkglen, "_S5_"), 3, 4);
	/* one byte short: truncated */
	expect_error(scan(aml, 6 + pkglen - 1, "_S5_"), ACPI_ELENGTH, "truncated (needs 70 bytes, 69 left)");
}

/* The name bytes without a NameOp, a NameOp before another name, a
 * Name(_S5_, <not a package>): all skipped; the real one later is found. */
static void test_lookalikes_skipped(void **state)
{
	(void)state;
	static const uint8_t aml[] = {
		0x0D, '_', 'S', '5', '_', 0x00,                    /* String "_S5_" */
		0x08, 'X', 'S', '5', '_', 0x12, 0x04, 0x02, 0x01, 0x01, /* Name(XS5_, ...) */
		0x08, '_', 'S', '5', '_', 0x0A, 0x07,              /* Name(_S5_, 7) */
		0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0A, 0x06, 0x00,
	};
	expect_found(SCAN(aml, "_S5_"), 6, 0);
}

static void test_not_found(void **state)
{
	(void)state;
	static const uint8_t aml[] = { 0x08, '_', 'S', '3', '_', 0x12, 0x04, 0x02, 0x01, 0x01 };
	struct result r = SCAN(aml, "_S5_");

	assert_int_equal(r.rc, 0);
	assert_false(r.st.valid);
	assert_string_equal(r.msg, "");
	r = scan(aml, 0, "_S5_");
	assert_int_equal(r.rc, 0);
	assert_int_equal(acpi_aml_find_sleep_type(NULL, 0, "_S5_", &r.st, NULL, 0), 0);
}

static void test_malformed(void **state)
{
	(void)state;
	static const uint8_t empty[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x02, 0x00 };
	static const uint8_t tiny[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x01, 0x00, 0x00 };
	static const uint8_t method[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x02, 'A', 'B', 'C', 'D', 0x00 };
	static const uint8_t wide[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0A, 0x08, 0x00 };
	static const uint8_t ones[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0xFF, 0x00 };
	/* pkglen says 3: NumElements 2 but only one element fits */
	static const uint8_t short_pkg[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x02, 0x01, 0x01, 0x01 };
	static const uint8_t split[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x0B, 0x05 };

	expect_error(SCAN(empty, "_S5_"), ACPI_EMALFORMED, "_S5_ package at offset 5 is empty");
	expect_error(SCAN(tiny, "_S5_"), ACPI_EMALFORMED, "has length 1, too small");
	expect_error(SCAN(method, "_S5_"), ACPI_EMALFORMED, "element 0 has unsupported encoding 0x41");
	expect_error(SCAN(wide, "_S5_"), ACPI_EMALFORMED, "wider than 3 bits");
	expect_error(SCAN(ones, "_S5_"), ACPI_EMALFORMED, "wider than 3 bits");
	expect_error(SCAN(short_pkg, "_S5_"), ACPI_EMALFORMED, "ends before element 1");
	expect_error(SCAN(split, "_S5_"), ACPI_EMALFORMED, "element 1 runs past the package end");
}

/* Cut a good package at every length: found only when complete, a
 * truncation error when cut inside the package, never a bad read. */
static void test_truncated_at_every_byte(void **state)
{
	(void)state;
	static const uint8_t aml[] = {
		0x08, 0x5C, '_', 'S', '5', '_', 0x12, 0x0A, 0x04,
		0x0C, 0x05, 0, 0, 0, 0x0B, 0x06, 0x00, 0x00, 0x00,
	};
	for (size_t len = 0; len <= sizeof(aml); len++) {
		struct result r = scan(aml, len, "_S5_");

		if (len >= 17) {             /* the package ends at 17 */
			expect_found(r, 5, 6);
		} else if (len < 6) {
			assert_int_equal(r.rc, 0);   /* the name is not all there */
		} else {
			if (r.rc != ACPI_ELENGTH)
				fail_msg("len %zu: rc %d (%s)", len, r.rc, r.msg);
			assert_non_null(strstr(r.msg, "truncated"));
		}
	}
}

/* Random bytes around planted NameOps: the result is always one of the
 * three outcomes and ASan sees no bad read. */
static void test_random_soup(void **state)
{
	uint32_t x = 12345;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t aml[48];
		size_t len;
		struct result r;

		for (size_t k = 0; k < sizeof(aml); k++) {
			x = x * 1103515245u + 12345u;
			aml[k] = (uint8_t)(x >> 16);
		}
		x = x * 1103515245u + 12345u;
		len = (x >> 16) % (sizeof(aml) + 1);
		if (len >= 7) {
			size_t at = (x >> 8) % (len - 6);

			memcpy(aml + at, "\x08_S5_\x12", 6);
			if (at + 7 < len)
				aml[at + 6] &= 0x3F; /* mostly short PkgLengths */
		}
		r = scan(aml, len, "_S5_");
		assert_true(r.rc == 1 || r.rc == 0 || r.rc == ACPI_ELENGTH || r.rc == ACPI_EMALFORMED);
		if (r.rc == 1)
			assert_true(r.st.slp_typa <= 7 && r.st.slp_typb <= 7);
		if (r.rc < 0)
			assert_true(r.msg[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_one_ops),
		cmocka_unit_test(test_byte_prefix),
		cmocka_unit_test(test_word_dword_qword_prefixes),
		cmocka_unit_test(test_plain_bytes),
		cmocka_unit_test(test_root_prefix),
		cmocka_unit_test(test_single_element),
		cmocka_unit_test(test_two_byte_pkglength),
		cmocka_unit_test(test_lookalikes_skipped),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated_at_every_byte),
		cmocka_unit_test(test_random_soup),
	};

	return cmocka_run_group_tests_name("acpi_aml", tests, NULL, NULL);
}

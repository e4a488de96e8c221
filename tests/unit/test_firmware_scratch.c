/*
 * Host tests for firmware_scratch_range(): OVMF's map (a 32 KiB usable hole
 * between two ACPI NVS ranges at 8 MiB) is kept out; usable RAM with other
 * neighbours, a gap, or too large is not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <vigil/firmware_scratch.h>

#define R(b, l, t) {(b), (l), (t), 0}

/* The part of OVMF 2022.11's map (QEMU q35, 512 MiB) around 8 MiB. */
static const struct boot_mem_region ovmf[] = {
	R(0x100000, 0x700000, BOOT_MEM_USABLE),
	R(0x800000, 0x8000, BOOT_MEM_ACPI_NVS),
	R(0x808000, 0x8000, BOOT_MEM_USABLE),
	R(0x810000, 0xf0000, BOOT_MEM_ACPI_NVS),
	R(0x900000, 0x1e000000, BOOT_MEM_USABLE),
};

static void test_ovmf_hole_kept_out(void **state)
{
	(void)state;
	const char *why = NULL;
	assert_true(firmware_scratch_range(ovmf, 5, 2, &why));
	assert_non_null(why);
	/* The big usable ranges beside NVS on one side only stay usable. */
	assert_false(firmware_scratch_range(ovmf, 5, 0, &why));
	assert_false(firmware_scratch_range(ovmf, 5, 4, &why));
	/* NVS ranges themselves are not "kept out": they never were usable. */
	assert_false(firmware_scratch_range(ovmf, 5, 1, &why));
	assert_false(firmware_scratch_range(ovmf, 5, 7, &why));
}

static void test_neighbours_must_touch_and_be_nvs(void **state)
{
	(void)state;
	const char *why;
	static const struct boot_mem_region gap[] = {
		R(0x800000, 0x8000, BOOT_MEM_ACPI_NVS),
		R(0x809000, 0x7000, BOOT_MEM_USABLE),     /* a page of nothing below it */
		R(0x810000, 0x10000, BOOT_MEM_ACPI_NVS),
	};
	assert_false(firmware_scratch_range(gap, 3, 1, &why));
	static const struct boot_mem_region reserved[] = {
		R(0x800000, 0x8000, BOOT_MEM_RESERVED),
		R(0x808000, 0x8000, BOOT_MEM_USABLE),
		R(0x810000, 0x10000, BOOT_MEM_ACPI_NVS),
	};
	assert_false(firmware_scratch_range(reserved, 3, 1, &why));
	/* Order in the array does not matter, only the addresses. */
	static const struct boot_mem_region shuffled[] = {
		R(0x810000, 0x10000, BOOT_MEM_ACPI_NVS),
		R(0x808000, 0x8000, BOOT_MEM_USABLE),
		R(0x800000, 0x8000, BOOT_MEM_ACPI_NVS),
	};
	assert_true(firmware_scratch_range(shuffled, 3, 1, &why));
}

static void test_size_limit(void **state)
{
	(void)state;
	const char *why;
	static const struct boot_mem_region big[] = {
		R(0x800000, 0x8000, BOOT_MEM_ACPI_NVS),
		R(0x808000, FIRMWARE_SCRATCH_MAX + 0x1000, BOOT_MEM_USABLE),
		R(0x808000 + FIRMWARE_SCRATCH_MAX + 0x1000, 0x10000, BOOT_MEM_ACPI_NVS),
	};
	assert_false(firmware_scratch_range(big, 3, 1, &why));
	static const struct boot_mem_region limit[] = {
		R(0x800000, 0x8000, BOOT_MEM_ACPI_NVS),
		R(0x808000, FIRMWARE_SCRATCH_MAX, BOOT_MEM_USABLE),
		R(0x808000 + FIRMWARE_SCRATCH_MAX, 0x10000, BOOT_MEM_ACPI_NVS),
	};
	assert_true(firmware_scratch_range(limit, 3, 1, &why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ovmf_hole_kept_out),
		cmocka_unit_test(test_neighbours_must_touch_and_be_nvs),
		cmocka_unit_test(test_size_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

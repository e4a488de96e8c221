/*
 * Host tests for the serial console's address checks
 * (core/console/serial_check.c): the boot lines that used to kill or blind
 * the machine (an MMIO address past the physical address width, one inside
 * the kernel image or RAM) are refused with a reason, reserved MMIO is
 * accepted, and the SPCR table's UART becomes a port description.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/cmdline.h>
#include <vigil/serial_console.h>
#include <vigil/string.h>

static struct boot_info bi;
static char why[160];

/* A q35-like map: RAM below 640K, RAM 1M-2G with the kernel at 2M, ACPI
 * tables, reserved MMIO at 0xfe000000, RAM above 4G. */
static int setup(void **state)
{
	(void)state;
	memset(&bi, 0, sizeof(bi));
	bi.kernel_phys_base = 0x200000;
	bi.kernel_size = 0x12b000;
	const struct boot_mem_region map[] = {
		{ 0x0, 0xa0000, BOOT_MEM_USABLE, 0 },
		{ 0x100000, 0x100000, BOOT_MEM_USABLE, 0 },
		{ 0x200000, 0x200000, BOOT_MEM_KERNEL, 0 },
		{ 0x400000, 0x7fb00000, BOOT_MEM_USABLE, 0 },
		{ 0x7ff00000, 0x80000, BOOT_MEM_ACPI_RECLAIM, 0 },
		{ 0x7ff80000, 0x80000, BOOT_MEM_ACPI_NVS, 0 },
		{ 0xfe000000, 0x1000000, BOOT_MEM_RESERVED, 0 },
		{ 0x100000000ULL, 0x40000000ULL, BOOT_MEM_USABLE, 0 },
	};
	memcpy(bi.mmap, map, sizeof(map));
	bi.mmap_count = ARRAY_SIZE(map);
	why[0] = '\0';
	return 0;
}

static void reserved_mmio_and_holes_are_accepted(void **state)
{
	(void)state;
	assert_int_equal(serial_mmio_check(0xfe030000, 4, &bi, 40, why, sizeof(why)), 0);
	assert_int_equal(serial_mmio_check(0xfed00000, 1, &bi, 40, why, sizeof(why)), 0);
	/* Not in the map at all (a PCI BAR in the hole below 4G). */
	assert_int_equal(serial_mmio_check(0xc0000000, 4, &bi, 40, why, sizeof(why)), 0);
	/* Just below the 40-bit limit. */
	assert_int_equal(serial_mmio_check(0xffffffffe0ULL, 4, &bi, 40, why, sizeof(why)), 0);
}

static void beyond_the_physical_address_width(void **state)
{
	(void)state;
	/* console=serial,mmio,0x10000000000 used to fault with no output. */
	assert_int_equal(serial_mmio_check(0x10000000000ULL, 4, &bi, 40, why, sizeof(why)), -1);
	assert_string_equal(why, "0x10000000000 is beyond the CPU's 40-bit physical address space");
	assert_int_equal(serial_mmio_check(0xfffffffffffff000ULL, 4, &bi, 52, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "beyond the CPU's 52-bit"));
	/* The last register crossing the limit counts too. */
	assert_int_equal(serial_mmio_check(0xfffffffff0ULL, 4, &bi, 40, why, sizeof(why)), -1);
	/* With 46 bits, 1 TiB is fine. */
	assert_int_equal(serial_mmio_check(0x10000000000ULL, 4, &bi, 46, why, sizeof(why)), 0);
}

static void the_kernel_image_is_refused(void **state)
{
	(void)state;
	/* console=serial,mmio,0x200000 used to write into the kernel. */
	assert_int_equal(serial_mmio_check(0x200000, 4, &bi, 40, why, sizeof(why)), -1);
	assert_string_equal(why, "0x200000 is the kernel image (0x200000-0x32afff)");
	/* The image even when the map forgot it. */
	bi.mmap_count = 0;
	assert_int_equal(serial_mmio_check(0x300000, 4, &bi, 40, why, sizeof(why)), -1);
	/* Registers that start below and reach into it. */
	assert_int_equal(serial_mmio_check(0x1ffff0, 4, &bi, 40, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "kernel image"));
}

static void ram_and_acpi_are_refused(void **state)
{
	(void)state;
	assert_int_equal(serial_mmio_check(0x1000000, 4, &bi, 40, why, sizeof(why)), -1);
	assert_string_equal(why, "0x1000000 is usable RAM in the memory map (0x400000-0x7fefffff)");
	assert_int_equal(serial_mmio_check(0x7ff00100, 4, &bi, 40, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "ACPI tables"));
	assert_int_equal(serial_mmio_check(0x7ff80000, 1, &bi, 40, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "ACPI NVS"));
	assert_int_equal(serial_mmio_check(0x100001000ULL, 4, &bi, 40, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "usable RAM"));
	assert_int_equal(serial_mmio_check(0x3000, 4, &bi, 40, why, sizeof(why)), -1);
	/* Kernel-owned map entries beyond the image (page tables, boot_info). */
	assert_int_equal(serial_mmio_check(0x3f0000, 4, &bi, 40, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "memory the kernel owns"));
}

static void misaligned_zero_and_bad_stride(void **state)
{
	(void)state;
	assert_int_equal(serial_mmio_check(0xfe030002, 4, &bi, 40, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not aligned"));
	assert_int_equal(serial_mmio_check(0xfe030003, 1, &bi, 40, why, sizeof(why)), 0);
	assert_int_equal(serial_mmio_check(0, 4, &bi, 40, why, sizeof(why)), -1);
	assert_int_equal(serial_mmio_check(0xfe030000, 2, &bi, 40, why, sizeof(why)), -1);
	assert_int_equal(serial_mmio_check(0xffffffffffffffe8ULL, 4, &bi, 64, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "wraps"));
}

static struct acpi_info spcr(uint8_t iface, uint8_t space, uint64_t addr, uint8_t width, uint8_t access)
{
	struct acpi_info ai;
	memset(&ai, 0, sizeof(ai));
	ai.has_spcr = true;
	ai.spcr_interface = iface;
	ai.spcr_base = (struct acpi_gas){ .space_id = space, .bit_width = width, .access_size = access,
					  .address = addr };
	return ai;
}

static void spcr_names_a_port(void **state)
{
	(void)state;
	struct serial_port_desc d;
	struct acpi_info ai = spcr(0, ACPI_GAS_IO, 0x2f8, 8, 1);
	assert_int_equal(serial_from_spcr(&ai, &d, why, sizeof(why)), 0);
	assert_int_equal(d.kind, BOOT_SERIAL_IO);
	assert_int_equal(d.base, 0x2f8);

	ai = spcr(0x12, ACPI_GAS_MEMORY, 0xfe030000, 32, 3);
	assert_int_equal(serial_from_spcr(&ai, &d, why, sizeof(why)), 0);
	assert_int_equal(d.kind, BOOT_SERIAL_MMIO);
	assert_int_equal(d.base, 0xfe030000);
	assert_int_equal(d.stride, 4);

	ai = spcr(1, ACPI_GAS_MEMORY, 0xfe030000, 8, 1);
	assert_int_equal(serial_from_spcr(&ai, &d, why, sizeof(why)), 0);
	assert_int_equal(d.stride, 1);

	char name[48];
	serial_port_name(&d, name, sizeof(name));
	assert_string_equal(name, "MMIO 0xfe030000");
}

static void spcr_refusals(void **state)
{
	(void)state;
	struct serial_port_desc d = { 0 };
	struct acpi_info ai = spcr(3, ACPI_GAS_MEMORY, 0x9000000, 32, 3); /* ARM PL011 */
	assert_int_equal(serial_from_spcr(&ai, &d, why, sizeof(why)), -1);
	assert_string_equal(why, "interface type 0x3 is not a 16550");
	ai = spcr(0, ACPI_GAS_IO, 0xfffc, 8, 1);
	assert_int_equal(serial_from_spcr(&ai, &d, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "out of range"));
	ai = spcr(0, ACPI_GAS_PCI_CFG, 0x1000, 8, 1);
	assert_int_equal(serial_from_spcr(&ai, &d, why, sizeof(why)), -1);
	ai.has_spcr = false;
	assert_int_equal(serial_from_spcr(&ai, &d, why, sizeof(why)), -1);
	assert_int_equal(d.base, 0);   /* untouched */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(reserved_mmio_and_holes_are_accepted, setup),
		cmocka_unit_test_setup(beyond_the_physical_address_width, setup),
		cmocka_unit_test_setup(the_kernel_image_is_refused, setup),
		cmocka_unit_test_setup(ram_and_acpi_are_refused, setup),
		cmocka_unit_test_setup(misaligned_zero_and_bad_stride, setup),
		cmocka_unit_test_setup(spcr_names_a_port, setup),
		cmocka_unit_test_setup(spcr_refusals, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The checks behind console= and the SPCR table: is an address one vigil
 * may touch as a UART?  include/vigil/serial_console.h says why each rule.
 */
#include <vigil/cmdline.h>
#include <vigil/serial_console.h>
#include <vigil/string.h>

static const char *mem_type_name(uint32_t type)
{
	switch (type) {
	case BOOT_MEM_USABLE:       return "usable RAM";
	case BOOT_MEM_ACPI_RECLAIM: return "ACPI tables";
	case BOOT_MEM_ACPI_NVS:     return "ACPI NVS memory";
	case BOOT_MEM_KERNEL:       return "memory the kernel owns";
	case BOOT_MEM_BAD:          return "bad RAM";
	default:                    return NULL; /* reserved: MMIO may live there */
	}
}

/* Do [a, a + alen) and [b, b + blen) share a byte?  (No overflow: callers
 * keep a + alen within 64 bits; b + blen is clamped.) */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	uint64_t b_end = b + blen < b ? UINT64_MAX : b + blen;
	return blen && a < b_end && b < a + alen;
}

int serial_mmio_check(uint64_t addr, unsigned stride, const struct boot_info *bi,
		      unsigned phys_bits, char *why, size_t len)
{
	uint64_t size = (uint64_t)SERIAL_NR_REGS * stride;

	if (stride != 1 && stride != 4) {
		snprintf(why, len, "register stride %u (expected 1 or 4)", stride);
		return -1;
	}
	if (addr == 0) {
		snprintf(why, len, "address 0");
		return -1;
	}
	if (phys_bits < 64 && (addr >> phys_bits || (addr + size - 1) >> phys_bits)) {
		snprintf(why, len, "0x%llx is beyond the CPU's %u-bit physical address space",
			 (unsigned long long)addr, phys_bits);
		return -1;
	}
	if (addr + size < addr) {
		snprintf(why, len, "0x%llx wraps around the address space", (unsigned long long)addr);
		return -1;
	}
	if (!IS_ALIGNED(addr, stride)) {
		snprintf(why, len, "0x%llx is not aligned to its %u-byte registers",
			 (unsigned long long)addr, stride);
		return -1;
	}
	if (bi->kernel_size && overlaps(addr, size, bi->kernel_phys_base, bi->kernel_size)) {
		snprintf(why, len, "0x%llx is the kernel image (0x%llx-0x%llx)", (unsigned long long)addr,
			 (unsigned long long)bi->kernel_phys_base,
			 (unsigned long long)(bi->kernel_phys_base + bi->kernel_size - 1));
		return -1;
	}
	for (uint32_t i = 0; i < bi->mmap_count && i < BOOT_MMAP_MAX; i++) {
		const struct boot_mem_region *r = &bi->mmap[i];
		const char *what = mem_type_name(r->type);

		if (what && overlaps(addr, size, r->base, r->length)) {
			snprintf(why, len, "0x%llx is %s in the memory map (0x%llx-0x%llx)",
				 (unsigned long long)addr, what, (unsigned long long)r->base,
				 (unsigned long long)(r->base + r->length - 1));
			return -1;
		}
	}
	return 0;
}

int serial_from_spcr(const struct acpi_info *ai, struct serial_port_desc *out, char *why, size_t len)
{
	const struct acpi_gas *g = &ai->spcr_base;

	if (!ai->has_spcr) {
		snprintf(why, len, "no SPCR table");
		return -1;
	}
	/* DBG2 serial port subtypes (Microsoft "Debug Port Table 2"). */
	if (ai->spcr_interface != 0x00 && ai->spcr_interface != 0x01 && ai->spcr_interface != 0x12) {
		snprintf(why, len, "interface type 0x%x is not a 16550", ai->spcr_interface);
		return -1;
	}
	if (g->space_id == ACPI_GAS_IO) {
		if (g->address == 0 || g->address > 0x10000 - SERIAL_NR_REGS) {
			snprintf(why, len, "I/O port 0x%llx out of range", (unsigned long long)g->address);
			return -1;
		}
		*out = (struct serial_port_desc){ .kind = BOOT_SERIAL_IO, .base = g->address, .stride = 1 };
		return 0;
	}
	if (g->space_id == ACPI_GAS_MEMORY) {
		unsigned stride = g->bit_width == 32 || g->access_size == 3 ? 4 : 1;
		*out = (struct serial_port_desc){ .kind = BOOT_SERIAL_MMIO, .base = g->address,
						  .stride = stride };
		return 0;
	}
	snprintf(why, len, "address space %u is neither memory nor I/O", g->space_id);
	return -1;
}

void serial_port_name(const struct serial_port_desc *d, char *buf, size_t len)
{
	if (d->kind == BOOT_SERIAL_MMIO)
		snprintf(buf, len, "MMIO 0x%llx", (unsigned long long)d->base);
	else
		snprintf(buf, len, "I/O port 0x%llx", (unsigned long long)d->base);
}

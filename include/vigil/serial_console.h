/*
 * Which UART carries the serial console, and whether an address given for
 * one (console=, the ACPI SPCR table) may be touched at all.  The checks are
 * pure (host-tested); the architecture probes and switches (arch/x86
 * serial_console.c).  docs/console.md, "Which serial port".
 */
#ifndef VIGIL_SERIAL_CONSOLE_H
#define VIGIL_SERIAL_CONSOLE_H

#include <vigil/acpi.h>
#include <vigil/boot_info.h>
#include <vigil/types.h>

struct serial_port_desc {
	uint32_t kind;      /* enum boot_serial_kind: I/O port or MMIO */
	uint64_t base;      /* port number or physical address */
	unsigned stride;    /* MMIO: bytes between registers (1 or 4) */
};

/* A 16550 has 8 registers. */
#define SERIAL_NR_REGS 8

/*
 * May a memory-mapped UART's registers [addr, addr + 8 * stride) be mapped
 * and probed?  Not when they lie beyond the CPU's physical address width
 * (phys_bits, CPUID 0x80000008 EAX[7:0]: a page table entry with such an
 * address has reserved bits set and faults, SDM vol 3A 4.5), are not aligned
 * to the register width, or overlap memory the memory map gives to RAM, ACPI
 * or the kernel, or the kernel image itself: probing writes to the scratch
 * and modem control registers, which would scribble on that memory.
 * Reserved ranges are fine (firmware lists MMIO that way).  Returns 0, or -1
 * with why ("0x200000 is the kernel image (0x200000-0x5fffff)").
 */
int serial_mmio_check(uint64_t addr, unsigned stride, const struct boot_info *bi,
		      unsigned phys_bits, char *why, size_t len);

/*
 * The UART the SPCR table names, if vigil can drive it: interface type 0
 * (16550), 1 (16450) or 0x12 (16550-compatible, described by the GAS), in
 * I/O space (8 ports below 64 KiB) or memory (register width from the GAS:
 * 32 bits -> stride 4, else 1).  Returns 0, or -1 with why.
 */
int serial_from_spcr(const struct acpi_info *ai, struct serial_port_desc *out, char *why, size_t len);

/* "I/O port 0x2f8", "MMIO 0xfe030000" for messages. */
void serial_port_name(const struct serial_port_desc *d, char *buf, size_t len);

#endif

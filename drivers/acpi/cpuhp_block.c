/*
 * The register protocol of QEMU's CPU-hotplug block (include/vigil/acpi_cpuhp.h;
 * QEMU's docs/specs/acpi_cpu_hotplug.rst, "Typical usecases").  This is what
 * QEMU's own AML (the CSCN method behind \_GPE._E02) does, done by the
 * kernel because vigil has no AML interpreter.
 */
#include <vigil/acpi_cpuhp.h>

static void wr32(const struct acpi_cpuhp_io *io, unsigned reg, uint32_t v)
{
	io->out32(io->ctx, (uint16_t)(io->base + reg), v);
}

static void wr8(const struct acpi_cpuhp_io *io, unsigned reg, uint8_t v)
{
	io->out8(io->ctx, (uint16_t)(io->base + reg), v);
}

static uint32_t rd32(const struct acpi_cpuhp_io *io, unsigned reg)
{
	return io->in32(io->ctx, (uint16_t)(io->base + reg));
}

static uint8_t rd8(const struct acpi_cpuhp_io *io, unsigned reg)
{
	return io->in8(io->ctx, (uint16_t)(io->base + reg));
}

int acpi_cpuhp_init(const struct acpi_cpuhp_io *io)
{
	/* Legacy mode (QEMU's ICH9 and PIIX start there up to QEMU 7.x, and a
	 * machine reset puts them back): the block is a present-CPU bitmap,
	 * and a dword write of 0 to its start switches to the modern
	 * interface.  QEMU's AML does it in \_SB.PCI0._INI; so do we.  In
	 * modern mode the same write selects CPU 0, a valid selector. */
	wr32(io, ACPI_CPUHP_SELECTOR, 0);
	/* Detection, as the specification gives it: selector 0, command 0,
	 * then "Command data 2" (the first dword) reads 0 in modern mode;
	 * in legacy mode it would be the bitmap, with CPU 0's bit set. */
	wr8(io, ACPI_CPUHP_COMMAND, ACPI_CPUHP_CMD_NEXT_EVENT);
	if (rd32(io, ACPI_CPUHP_SELECTOR) != 0)
		return -1;
	/* CPU 0 (the boot CPU) must read as present. */
	wr32(io, ACPI_CPUHP_SELECTOR, 0);
	return rd8(io, ACPI_CPUHP_FLAGS) & ACPI_CPUHP_F_ENABLED ? 0 : -1;
}

int acpi_cpuhp_next_event(const struct acpi_cpuhp_io *io, struct acpi_cpuhp_event *ev)
{
	/* Command 0 searches from the current selector, wrapping, and selects
	 * the first CPU with an event; with none it leaves the selector and
	 * its flags alone, so the flags tell whether it found one. */
	wr32(io, ACPI_CPUHP_SELECTOR, 0);
	wr8(io, ACPI_CPUHP_COMMAND, ACPI_CPUHP_CMD_NEXT_EVENT);
	uint8_t flags = rd8(io, ACPI_CPUHP_FLAGS);
	if (!(flags & (ACPI_CPUHP_F_INSERT | ACPI_CPUHP_F_REMOVE)))
		return 0;
	ev->selector = rd32(io, ACPI_CPUHP_DATA);
	wr8(io, ACPI_CPUHP_COMMAND, ACPI_CPUHP_CMD_GET_ID);
	ev->apic_id = rd32(io, ACPI_CPUHP_DATA);
	ev->enabled = flags & ACPI_CPUHP_F_ENABLED;
	ev->insert = flags & ACPI_CPUHP_F_INSERT;
	ev->remove = flags & ACPI_CPUHP_F_REMOVE;
	return 1;
}

void acpi_cpuhp_control(const struct acpi_cpuhp_io *io, uint32_t selector, uint8_t bits)
{
	wr32(io, ACPI_CPUHP_SELECTOR, selector);
	wr8(io, ACPI_CPUHP_FLAGS, bits);
}

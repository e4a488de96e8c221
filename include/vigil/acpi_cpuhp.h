/*
 * QEMU's ACPI CPU-hotplug register block (the "modern" interface of
 * docs/specs/acpi_cpu_hotplug.rst in the QEMU tree), found through the DSDT
 * (acpi_info.cpuhp_port).  drivers/acpi/cpuhp_block.c speaks the register
 * protocol through struct acpi_cpuhp_io, so the host tests run it against a
 * model of QEMU's registers; arch/x86 gives it port I/O.
 *
 * Registers, from the block's base port:
 *   +0 (dword)  write: CPU selector (an index into the possible CPUs);
 *               legacy mode: writing 0 here switches to the modern interface
 *   +4 (byte)   read: 1 enabled (present), 2 insert event, 4 remove event,
 *               0x10 OSPM asked firmware to eject;
 *               write: 2 clears the insert event, 4 the remove event,
 *               8 ejects the CPU
 *   +5 (byte)   command: 0 select the next CPU with an event, 3 get its ID
 *   +8 (dword)  command data: the selector (command 0), APIC ID (command 3)
 * A hot-add or hot-remove also sets bit 2 of the GPE0 status register.
 */
#ifndef VIGIL_ACPI_CPUHP_H
#define VIGIL_ACPI_CPUHP_H
#include <vigil/types.h>

#define ACPI_CPUHP_SELECTOR   0
#define ACPI_CPUHP_FLAGS      4
#define ACPI_CPUHP_COMMAND    5
#define ACPI_CPUHP_DATA       8

#define ACPI_CPUHP_F_ENABLED  0x01
#define ACPI_CPUHP_F_INSERT   0x02
#define ACPI_CPUHP_F_REMOVE   0x04
#define ACPI_CPUHP_F_FW_EJECT 0x10
#define ACPI_CPUHP_W_CLEAR_INSERT 0x02
#define ACPI_CPUHP_W_CLEAR_REMOVE 0x04
#define ACPI_CPUHP_W_EJECT        0x08

#define ACPI_CPUHP_CMD_NEXT_EVENT 0
#define ACPI_CPUHP_CMD_GET_ID     3

/* The GPE that signals a CPU hotplug event (QEMU's \_GPE._E02). */
#define ACPI_CPUHP_GPE 2

struct acpi_cpuhp_io {
	uint8_t (*in8)(void *ctx, uint16_t port);
	uint32_t (*in32)(void *ctx, uint16_t port);
	void (*out8)(void *ctx, uint16_t port, uint8_t v);
	void (*out32)(void *ctx, uint16_t port, uint32_t v);
	void *ctx;
	uint16_t base;
};

struct acpi_cpuhp_event {
	uint32_t selector;
	uint32_t apic_id;
	bool enabled, insert, remove;
};

/* Leave the legacy interface, if it is still on (a no-op in modern mode,
 * where it selects CPU 0), and check the modern one answers: 0, or -1 when
 * the block does not behave like QEMU's. */
int acpi_cpuhp_init(const struct acpi_cpuhp_io *io);
/* The next CPU with an insert or remove event: 1 with *ev filled (the CPU
 * stays selected), 0 when none has one. */
int acpi_cpuhp_next_event(const struct acpi_cpuhp_io *io, struct acpi_cpuhp_event *ev);
/* Write the control bits (ACPI_CPUHP_W_*) for the CPU with this selector. */
void acpi_cpuhp_control(const struct acpi_cpuhp_io *io, uint32_t selector, uint8_t bits);

#endif

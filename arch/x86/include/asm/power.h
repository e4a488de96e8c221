/* Machine power control: what the ACPI tables told us, and the fallbacks. */
#ifndef ASM_POWER_H
#define ASM_POWER_H
#include <vigil/types.h>

struct power_regs {
	bool has_reset;
	uint8_t reset_space;                /* GAS address space: 0 = memory, 1 = I/O */
	uint64_t reset_addr;
	uint8_t reset_value;
};
extern struct power_regs power_regs;
/* QEMU's isa-debug-exit device (the harness adds it at this port). */
#define QEMU_DEBUG_EXIT_PORT 0xF4
#define BOCHS_SHUTDOWN_PORT 0x8900
#endif

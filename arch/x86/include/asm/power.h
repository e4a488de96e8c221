/* Machine power control: what the ACPI tables told us, and the fallbacks. */
#ifndef ASM_POWER_H
#define ASM_POWER_H
#include <vigil/types.h>

struct power_regs {
	uint16_t pm1a_cnt, pm1b_cnt;        /* I/O ports, 0 = absent */
	bool has_s5;
	uint8_t s5_typa, s5_typb;
	uint16_t smi_cmd;
	uint8_t acpi_enable;
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

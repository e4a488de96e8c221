/*
 * Poweroff and reboot.
 *  - Clean poweroff: ACPI S5 through the sleep sequence S3 uses too
 *    (drivers/acpi/sleep.c, with SLP_TYP from the DSDT's \_S5 package),
 *    then the Bochs shutdown port, then halting.  Under QEMU an S5 makes QEMU
 *    exit with status 0.
 *  - Failure (panic): under QEMU (detected through the CPUID hypervisor leaf)
 *    the isa-debug-exit device makes QEMU exit with (value << 1) | 1, here 3;
 *    under Bochs the text on the serial port is the verdict; then halt.
 *  - Reboot: ACPI reset register (FADT RESET_REG), the keyboard controller
 *    pulse (port 0x64, command 0xFE), and finally a triple fault.
 */
#include <asm/cpu.h>
#include <asm/io.h>
#include <asm/power.h>
#include <vigil/acpi.h>
#include <vigil/acpi_sleep.h>
#include <vigil/arch.h>
#include <vigil/printk.h>
#include <vigil/string.h>
#include <vigil/uart.h>

struct power_regs power_regs;

static bool running_under_qemu(void)
{
	return !strcmp(boot_cpu.hypervisor_id, "TCGTCGTCGTCG") || !strcmp(boot_cpu.hypervisor_id, "KVMKVMKVM");
}

/* Bochs: the ACPI OEM "BOCHS " without QEMU's hypervisor CPUID bit. */
static bool running_under_bochs(void)
{
	return !boot_cpu.hypervisor && !strncmp(acpi.oem_id, "BOCHS", 5);
}

static void bochs_shutdown(void)
{
	/* Bochs ends the simulation when "Shutdown" is written to port 0x8900. */
	for (const char *p = "Shutdown"; *p; p++)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
}

static void acpi_s5(void)
{
	if (acpi_enter_s5() != 0)
		return;
	/* The machine goes down asynchronously (QEMU handles the request in its
	 * main loop, which a loaded host may run late): give it 3 s of real
	 * time, not a loop count, before falling back. */
	uint64_t end = arch_time_ns() + 3000000000ULL;
	for (unsigned i = 0; i < 10000000 && arch_time_ns() < end; i++) /* bounded before the TSC is calibrated */
		io_delay();
}

__noreturn void arch_idle_forever(void)
{
	halt_forever();
}

__noreturn void arch_poweroff(int status)
{
	cli();
	/* The last line (a panic's verdict) may still sit in the UART's
	 * transmit FIFO: let it out before the machine stops. */
	uart_drain();
	if (status == 0) {
		acpi_s5();
		bochs_shutdown();
		if (running_under_qemu())
			outb(QEMU_DEBUG_EXIT_PORT, 0x10); /* QEMU exit status 33: "powered off, ACPI failed" */
	} else {
		if (running_under_qemu())
			outb(QEMU_DEBUG_EXIT_PORT, 0x01); /* QEMU exit status 3: failure */
		/* Bochs's BIOS panic port stops the simulation with a panic in its
		 * log, which tells a failure from a clean shutdown. */
		if (running_under_bochs())
			outw(0x400, 0xDEAD);
	}
	halt_forever();
}

__noreturn void arch_reboot(void)
{
	cli();
	uart_drain();
	if (power_regs.has_reset) {
		if (power_regs.reset_space == 1)
			outb((uint16_t)power_regs.reset_addr, power_regs.reset_value);
		for (int i = 0; i < 10000; i++)
			io_delay();
	}
	/* 8042 keyboard controller: wait for its input buffer, then pulse reset. */
	for (int i = 0; i < 100000 && (inb(0x64) & 0x02); i++)
		io_delay();
	outb(0x64, 0xFE);
	for (int i = 0; i < 10000; i++)
		io_delay();
	/* Triple fault: an empty IDT and an exception. */
	struct { uint16_t l; uint64_t b; } __attribute__((packed)) none = { 0, 0 };
	__asm__ volatile("lidt %0; int3" :: "m"(none));
	halt_forever();
}

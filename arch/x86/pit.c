/*
 * The 8254 PIT, used only as a known-frequency reference for calibration.
 * Channel 2 is gated by port 0x61 bit 0 and its output is readable at port
 * 0x61 bit 5, so we can busy-wait on it without interrupts (the PC/AT
 * convention; 8254 datasheet, mode 0 "interrupt on terminal count").
 */
#include <asm/io.h>
#include <asm/time.h>

#define PIT_HZ 1193182u

void pit_delay_us(uint32_t us)
{
	while (us) {
		uint32_t chunk = us > 50000 ? 50000 : us;
		uint32_t count = (uint32_t)((uint64_t)chunk * PIT_HZ / 1000000u);
		if (count < 1)
			count = 1;
		uint8_t gate = inb(0x61);
		outb(0x61, (gate & ~0x02) | 0x01);       /* gate on, speaker off */
		outb(0x43, 0xB0);                          /* channel 2, lo/hi, mode 0, binary */
		outb(0x42, count & 0xFF);
		outb(0x42, (count >> 8) & 0xFF);
		/* Writing the count restarts mode 0; OUT goes high at terminal count. */
		for (uint32_t spins = 0; !(inb(0x61) & 0x20); spins++) {
			if (spins > 100000000u)
				break; /* no PIT: give up rather than hang */
		}
		us -= chunk;
	}
}

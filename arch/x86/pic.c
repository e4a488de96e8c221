/*
 * The legacy 8259A pair.  vigil uses the LAPIC only, but the PICs still
 * exist on PC-compatible machines (MADT PCAT_COMPAT) and power up mapped to
 * vectors 8-15, on top of the CPU exceptions.  Remap them to 0x20-0x2F (so a
 * stray or spurious IRQ can never look like an exception) and mask every
 * line.  Firmware may re-initialise them after an S3 resume, so this runs on
 * every boot path and resume.  (8259A datasheet, ICW1-ICW4.)
 */
#include <asm/io.h>
#include <asm/apic.h>

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1

void pic_disable(void)
{
	outb(PIC1_CMD, 0x11); io_delay();  /* ICW1: init, ICW4 follows */
	outb(PIC2_CMD, 0x11); io_delay();
	outb(PIC1_DATA, 0x20); io_delay(); /* ICW2: vector base 0x20 */
	outb(PIC2_DATA, 0x28); io_delay(); /* ... and 0x28 */
	outb(PIC1_DATA, 0x04); io_delay(); /* ICW3: slave on IRQ2 */
	outb(PIC2_DATA, 0x02); io_delay();
	outb(PIC1_DATA, 0x01); io_delay(); /* ICW4: 8086 mode */
	outb(PIC2_DATA, 0x01); io_delay();
	outb(PIC1_DATA, 0xFF);             /* mask everything */
	outb(PIC2_DATA, 0xFF);
}

/*
 * The QEMU/Bochs standard VGA (PCI 1234:1111) across ACPI S3.  The boot
 * framebuffer is a mode the firmware set through the "Bochs VBE" DISPI
 * registers (index port 0x1CE, data port 0x1CF; Bochs vbe.h, QEMU
 * hw/display/vga.c).  QEMU resets the device on wakeup and OVMF's S3 path
 * does not set a mode again, so after resume the display is off ("Guest has
 * not initialized the display") even once s3_pci.c has put its BAR back.
 * Save the DISPI registers before sleeping; after the wake, if they were
 * lost, set the same mode again without clearing video memory, then end the
 * attribute controller's blanking (palette address source, bit 5 of the
 * index written to port 0x3C0; IBM VGA attribute controller, as OVMF's
 * QemuVideoDxe does) so the picture shows.
 *
 * Only with that PCI device present: on other machines port 0x1CE may be
 * something else.
 */
#include <asm/io.h>
#include <asm/s3.h>
#include <vigil/dev_pm.h>

#define DISPI_INDEX        0x01CE
#define DISPI_DATA         0x01CF
#define DISPI_ID           0
#define DISPI_XRES         1
#define DISPI_YRES         2
#define DISPI_BPP          3
#define DISPI_ENABLE       4
#define DISPI_BANK         5
#define DISPI_VIRT_WIDTH   6
#define DISPI_VIRT_HEIGHT  7
#define DISPI_X_OFFSET     8
#define DISPI_Y_OFFSET     9
#define DISPI_NR_REGS      10
#define DISPI_ENABLED      0x01
#define DISPI_NOCLEARMEM   0x80
#define DISPI_ID_MASK      0xFFF0
#define DISPI_ID_BASE      0xB0C0   /* 0xB0C0..0xB0C5 by interface version */

#define VGA_ATTR_INDEX     0x3C0
#define VGA_INPUT_STATUS_1 0x3DA    /* reading it resets the attribute flip-flop */
#define VGA_ATTR_PAS       0x20

static uint16_t regs[DISPI_NR_REGS];
static bool saved;

static uint16_t dispi_read(unsigned reg)
{
	outw(DISPI_INDEX, (uint16_t)reg);
	return inw(DISPI_DATA);
}

static void dispi_write(unsigned reg, uint16_t v)
{
	outw(DISPI_INDEX, (uint16_t)reg);
	outw(DISPI_DATA, v);
}

static bool present(void)
{
	return s3_pci_present(0x1234, 0x1111) && (dispi_read(DISPI_ID) & DISPI_ID_MASK) == DISPI_ID_BASE;
}

static void s3_bochs_vga_save(void)
{
	saved = false;
	if (!present())
		return;
	for (unsigned r = 1; r < DISPI_NR_REGS; r++)
		regs[r] = dispi_read(r);
	saved = regs[DISPI_ENABLE] & DISPI_ENABLED;
}

static void s3_bochs_vga_restore(void)
{
	if (!saved || !present())
		return;
	bool same = true;
	for (unsigned r = 1; r < DISPI_NR_REGS; r++)
		same &= dispi_read(r) == regs[r];
	if (same)
		return;
	/* The geometry only changes while disabled (the order of QEMU's
	 * and OVMF's mode set). */
	dispi_write(DISPI_ENABLE, 0);
	dispi_write(DISPI_XRES, regs[DISPI_XRES]);
	dispi_write(DISPI_YRES, regs[DISPI_YRES]);
	dispi_write(DISPI_BPP, regs[DISPI_BPP]);
	dispi_write(DISPI_ENABLE, (uint16_t)(regs[DISPI_ENABLE] | DISPI_NOCLEARMEM));
	dispi_write(DISPI_BANK, regs[DISPI_BANK]);
	dispi_write(DISPI_VIRT_WIDTH, regs[DISPI_VIRT_WIDTH]);
	dispi_write(DISPI_VIRT_HEIGHT, regs[DISPI_VIRT_HEIGHT]);
	dispi_write(DISPI_X_OFFSET, regs[DISPI_X_OFFSET]);
	dispi_write(DISPI_Y_OFFSET, regs[DISPI_Y_OFFSET]);
	(void)inb(VGA_INPUT_STATUS_1);
	outb(VGA_ATTR_INDEX, VGA_ATTR_PAS);
}

/* Registered after the PCI headers (s3_pci.c): present() asks what their
 * save found, and the mode is set again only once the BAR is back. */
static struct dev_pm_ops bochs_vga_pm = { .name = "bochs-vga", .suspend = s3_bochs_vga_save,
					  .resume = s3_bochs_vga_restore };

void s3_bochs_vga_register_pm(void)
{
	dev_pm_register(&bochs_vga_pm);
}

/*
 * PCI configuration space across ACPI S3.  S3 removes power from the
 * devices (ACPI 6.5 16.1.3: "all system context is lost except system
 * memory"), so their configuration comes back at its reset values: no BARs,
 * memory and I/O decoding off, bridges without bus numbers.  The firmware
 * restores what its own resume path needs, which under QEMU + OVMF is not
 * the devices': the boot framebuffer's BAR is gone and the framebuffer
 * console writes into nothing.  As an OS does for every device (Linux:
 * pci_save_state / pci_restore_state), vigil saves the 64-byte header of
 * every function it can reach before sleeping and writes back, after the
 * wake, every dword that differs.
 *
 * Configuration mechanism #1 (ports 0xCF8/0xCFC; PCI Local Bus 3.0,
 * 3.2.2.3.2) reaches every function of every bus on a PC.  Buses are
 * found the way the firmware numbered them: bus 0, then the secondary bus
 * of each bridge (type 1 header, PCI-to-PCI Bridge Architecture 1.2, 3.2).
 * Restoring follows the scan order, so a bridge gets its bus numbers back
 * before anything behind it is written, and within a header goes from the
 * last dword to the first, so the command register (dword 1) turns decoding
 * on only after the BARs hold their addresses (as Linux does).
 */
#include <asm/io.h>
#include <asm/s3.h>
#include <vigil/dev_pm.h>
#include <vigil/printk.h>

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA    0xCFC
#define PCI_MAX_FUNCTIONS  128
#define PCI_HEADER_DWORDS  16

struct saved_function {
	uint8_t bus, dev, fn;
	uint32_t cfg[PCI_HEADER_DWORDS];
};

static struct saved_function saved[PCI_MAX_FUNCTIONS];
static unsigned nr_saved, nr_restored;
static bool too_many;

static uint32_t addr(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	return 0x80000000u | (bus << 16) | (dev << 11) | (fn << 8) | (off & 0xFC);
}

static uint32_t cfg_read(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	outl(PCI_CONFIG_ADDRESS, addr(bus, dev, fn, off));
	return inl(PCI_CONFIG_DATA);
}

static void cfg_write(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
	outl(PCI_CONFIG_ADDRESS, addr(bus, dev, fn, off));
	outl(PCI_CONFIG_DATA, v);
}

static void save_bus(unsigned bus, unsigned depth)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		uint32_t id = cfg_read(bus, dev, 0, 0);
		if ((id & 0xFFFF) == 0xFFFF)
			continue;
		/* Header type bit 7: a multi-function device (PCI 3.0, 6.2.1). */
		unsigned nfn = (cfg_read(bus, dev, 0, 0x0C) >> 16) & 0x80 ? 8 : 1;
		for (unsigned fn = 0; fn < nfn; fn++) {
			if ((cfg_read(bus, dev, fn, 0) & 0xFFFF) == 0xFFFF)
				continue;
			if (nr_saved == PCI_MAX_FUNCTIONS) {
				too_many = true;
				return;
			}
			struct saved_function *f = &saved[nr_saved++];
			f->bus = (uint8_t)bus;
			f->dev = (uint8_t)dev;
			f->fn = (uint8_t)fn;
			for (unsigned i = 0; i < PCI_HEADER_DWORDS; i++)
				f->cfg[i] = cfg_read(bus, dev, fn, i * 4);
			/* A PCI-to-PCI bridge: its secondary bus (dword 6, bits 15:8). */
			if (((f->cfg[3] >> 16) & 0x7F) == 1) {
				unsigned sec = (f->cfg[6] >> 8) & 0xFF;
				if (sec > bus && depth < 8)
					save_bus(sec, depth + 1);
			}
		}
	}
}

static void s3_pci_save(void)
{
	nr_saved = 0;
	too_many = false;
	save_bus(0, 0);
	if (too_many)
		printk("s3: more than %u PCI functions; the rest keep what the firmware gives them\n",
		       PCI_MAX_FUNCTIONS);
}

static void s3_pci_restore(void)
{
	nr_restored = 0;
	for (unsigned i = 0; i < nr_saved; i++) {
		const struct saved_function *f = &saved[i];
		/* The same device still there?  Otherwise leave it alone. */
		if (cfg_read(f->bus, f->dev, f->fn, 0) != f->cfg[0])
			continue;
		bool changed = false;
		for (unsigned d = PCI_HEADER_DWORDS - 1; d >= 1; d--) {
			if (d == 2) /* class code and revision: read-only */
				continue;
			if (cfg_read(f->bus, f->dev, f->fn, d * 4) != f->cfg[d]) {
				cfg_write(f->bus, f->dev, f->fn, d * 4, f->cfg[d]);
				changed = true;
			}
		}
		nr_restored += changed;
	}
}

unsigned s3_pci_restored_count(void)
{
	return nr_restored;
}

bool s3_pci_present(uint16_t vendor, uint16_t device)
{
	uint32_t id = ((uint32_t)device << 16) | vendor;
	for (unsigned i = 0; i < nr_saved; i++)
		if (saved[i].cfg[0] == id)
			return true;
	return false;
}

static struct dev_pm_ops pci_pm = { .name = "pci", .suspend = s3_pci_save, .resume = s3_pci_restore };

void s3_pci_register_pm(void)
{
	dev_pm_register(&pci_pm);
}

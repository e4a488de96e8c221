/*
 * Synthetic ACPI tables for the host tests of drivers/acpi/.
 *
 * A struct fakemem is a zeroed buffer standing for physical memory
 * [0, size).  Tables are built in a growable byte buffer (struct tb), then
 * placed into fake memory with their length and checksum filled in.
 *
 * fm_map(), the acpi_mapper callback, returns a *separate heap copy of
 * exactly the requested range*, not a pointer into the buffer: a parser read
 * one byte past what it mapped is then a heap overflow AddressSanitizer
 * reports, instead of a silent read of the neighbouring fake memory.
 */
#ifndef ACPI_BUILDER_H
#define ACPI_BUILDER_H

#include <stddef.h>
#include <stdint.h>
#include <vigil/acpi.h>

struct fakemem {
	uint8_t *buf;
	size_t size;          /* physical [0, size) is backed */
	uint64_t next;        /* bump allocator for fm_alloc() */
	void **copies;        /* what fm_map() handed out, freed by fm_fini() */
	size_t nr_copies, cap_copies;
	unsigned long nr_maps;
};

#define FM_SIZE   (4u << 20)
#define FM_ALLOC0 0x100000u  /* tables go above the BIOS areas */

void fm_init(struct fakemem *fm);
void fm_fini(struct fakemem *fm);
/* Free the copies handed out so far (between parses in a loop). */
void fm_release(struct fakemem *fm);
const void *fm_map(uint64_t phys, size_t len, void *ctx);
struct acpi_mapper fm_mapper(struct fakemem *fm);
uint64_t fm_alloc(struct fakemem *fm, size_t len, size_t align);
uint8_t *fm_at(struct fakemem *fm, uint64_t phys);
/* Recompute the checksum of the standard-header table at phys over its
 * current Length field (after a test edited it). */
void fm_fix_checksum(struct fakemem *fm, uint64_t phys);
/* Little-endian stores into fake memory. */
void fm_w8(struct fakemem *fm, uint64_t phys, uint8_t v);
void fm_w16(struct fakemem *fm, uint64_t phys, uint16_t v);
void fm_w32(struct fakemem *fm, uint64_t phys, uint32_t v);
void fm_w64(struct fakemem *fm, uint64_t phys, uint64_t v);

/* A table under construction. */
struct tb {
	uint8_t *data;
	size_t len, cap;
};

/* Start a table with a standard 36-byte header (length/checksum filled by
 * tb_place). */
void tb_begin(struct tb *t, const char sig[4], uint8_t revision);
void tb_u8(struct tb *t, uint8_t v);
void tb_u16(struct tb *t, uint16_t v);
void tb_u32(struct tb *t, uint32_t v);
void tb_u64(struct tb *t, uint64_t v);
void tb_bytes(struct tb *t, const void *p, size_t n);
void tb_zero(struct tb *t, size_t n);
void tb_gas(struct tb *t, uint8_t space, uint8_t width, uint8_t offset, uint8_t access,
	    uint64_t addr);
/* Set Length = t->len, compute the checksum, copy into fake memory (16-byte
 * aligned), free the buffer.  Returns the physical address. */
uint64_t tb_place(struct tb *t, struct fakemem *fm);
/* Same, without touching Length/Checksum (for deliberately broken tables). */
uint64_t tb_place_raw(struct tb *t, struct fakemem *fm);

/* MADT (5.2.12) entries, appended to a table begun with ab_madt_begin(). */
void ab_madt_begin(struct tb *t, uint8_t revision, uint32_t lapic_addr, uint32_t flags);
void ab_madt_lapic(struct tb *t, uint8_t uid, uint8_t apic_id, uint32_t flags);
void ab_madt_x2apic(struct tb *t, uint32_t uid, uint32_t x2apic_id, uint32_t flags);
void ab_madt_ioapic(struct tb *t, uint8_t id, uint32_t addr, uint32_t gsi_base);
void ab_madt_iso(struct tb *t, uint8_t source, uint32_t gsi, uint16_t flags);
void ab_madt_nmi_source(struct tb *t, uint16_t flags, uint32_t gsi);
void ab_madt_lapic_nmi(struct tb *t, uint8_t uid, uint16_t flags, uint8_t lint);
void ab_madt_x2apic_nmi(struct tb *t, uint32_t uid, uint16_t flags, uint8_t lint);
void ab_madt_lapic_override(struct tb *t, uint64_t addr);

/* FADT (5.2.9): fields written at their offsets when they fit in length. */
struct ab_fadt {
	uint8_t revision;
	uint8_t minor;
	uint32_t length;      /* 116 (ACPI 1.0), 244 (2.0), 276 (6.x) */
	uint32_t firmware_ctrl, dsdt;
	uint64_t x_firmware_ctrl, x_dsdt;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm_tmr, gpe0_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm_tmr_len, gpe0_blk_len;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt, x_pm_tmr;
};
uint64_t ab_fadt(struct fakemem *fm, const struct ab_fadt *f);

/* FACS (5.2.10), 64 bytes, 64-byte aligned. */
uint64_t ab_facs(struct fakemem *fm, uint8_t version, uint32_t hw_sig, uint32_t waking,
		 uint64_t x_waking, uint32_t flags);
/* A DSDT whose body is the given AML. */
uint64_t ab_dsdt(struct fakemem *fm, const void *aml, size_t n);
uint64_t ab_hpet(struct fakemem *fm, uint8_t space, uint64_t base, uint32_t block_id);
uint64_t ab_spcr(struct fakemem *fm, uint8_t revision, uint8_t iface, uint8_t space,
		 uint64_t base, uint8_t irq_type, uint8_t irq, uint32_t gsi, uint8_t baud_code);
/* Any table with just a header and n filler bytes (SSDT, MCFG, ...). */
uint64_t ab_simple(struct fakemem *fm, const char sig[4], size_t n);

/* RSDP (5.2.5.3).  at: where to place it (0: allocate).  Revision 0 writes
 * the 20-byte ACPI 1.0 form, >= 2 the 36-byte form. */
uint64_t ab_rsdp(struct fakemem *fm, uint64_t at, uint8_t revision, uint32_t rsdt,
		 uint64_t xsdt);
uint64_t ab_rsdt(struct fakemem *fm, const uint64_t *tables, size_t n);
uint64_t ab_xsdt(struct fakemem *fm, const uint64_t *tables, size_t n);

/*
 * A whole, valid, QEMU-like machine: 4 enabled xAPIC CPUs, one I/O APIC,
 * two interrupt overrides, a local APIC NMI, a 6.x FADT with X_ fields, a
 * FACS, a DSDT with \_S3 and \_S5, an HPET, an SPCR and an SSDT.  Tests
 * replace pieces (p.madt = ...) and call ab_finish() again.
 */
struct ab_platform {
	struct fakemem *fm;
	uint8_t rsdp_revision;   /* 0: RSDT only; 2: XSDT (and an RSDT) */
	uint64_t rsdp_at;        /* 0: allocate */
	uint64_t fadt, madt, hpet, spcr, ssdt, facs, dsdt;
	uint64_t extra[8];       /* more root entries, after the others */
	size_t nr_extra;
	uint64_t rsdp, rsdt, xsdt;   /* set by ab_finish */
};
void ab_default(struct ab_platform *p, struct fakemem *fm, uint8_t rsdp_revision);
/* The default platform's FADT contents (tests tweak and rebuild it). */
void ab_default_fadt(struct ab_fadt *f, uint64_t facs, uint64_t dsdt);
/* The default MADT. */
uint64_t ab_default_madt(struct fakemem *fm);
/* The default DSDT AML: Name(_S3_, Package(){0x05, One, Zero, Zero}) and
 * Name(\_S5_, Package(){0x07, Zero}) in iASL's encodings, after some
 * unrelated AML that mentions "_S5_" without a NameOp. */
uint64_t ab_default_dsdt(struct fakemem *fm);
/* Build root tables and the RSDP from p's table addresses (a zero address
 * is left out); returns p->rsdp. */
uint64_t ab_finish(struct ab_platform *p);

#endif

/* Synthetic ACPI tables for the host tests; see acpi_builder.h. */
#include "acpi_builder.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* --- fake physical memory ---------------------------------------------- */

void fm_init(struct fakemem *fm)
{
	memset(fm, 0, sizeof(*fm));
	fm->size = FM_SIZE;
	fm->buf = calloc(1, fm->size);
	assert(fm->buf);
	fm->next = FM_ALLOC0;
}

void fm_release(struct fakemem *fm)
{
	for (size_t i = 0; i < fm->nr_copies; i++)
		free(fm->copies[i]);
	fm->nr_copies = 0;
}

void fm_fini(struct fakemem *fm)
{
	fm_release(fm);
	free(fm->copies);
	free(fm->buf);
	memset(fm, 0, sizeof(*fm));
}

const void *fm_map(uint64_t phys, size_t len, void *ctx)
{
	struct fakemem *fm = ctx;
	void *copy;

	assert(len > 0);	/* the parser promises never to map 0 bytes */
	fm->nr_maps++;
	if (phys >= fm->size || len > fm->size - phys)
		return NULL;
	copy = malloc(len);
	assert(copy);
	memcpy(copy, fm->buf + phys, len);
	if (fm->nr_copies == fm->cap_copies) {
		fm->cap_copies = fm->cap_copies ? 2 * fm->cap_copies : 64;
		fm->copies = realloc(fm->copies, fm->cap_copies * sizeof(*fm->copies));
		assert(fm->copies);
	}
	fm->copies[fm->nr_copies++] = copy;
	return copy;
}

struct acpi_mapper fm_mapper(struct fakemem *fm)
{
	struct acpi_mapper m = { .map = fm_map, .ctx = fm };
	return m;
}

uint64_t fm_alloc(struct fakemem *fm, size_t len, size_t align)
{
	uint64_t a = (fm->next + align - 1) & ~(uint64_t)(align - 1);

	assert(a + len <= fm->size);
	fm->next = a + len;
	return a;
}

uint8_t *fm_at(struct fakemem *fm, uint64_t phys)
{
	assert(phys < fm->size);
	return fm->buf + phys;
}

void fm_w8(struct fakemem *fm, uint64_t phys, uint8_t v)
{
	*fm_at(fm, phys) = v;
}

void fm_w16(struct fakemem *fm, uint64_t phys, uint16_t v)
{
	fm_w8(fm, phys, (uint8_t)v);
	fm_w8(fm, phys + 1, (uint8_t)(v >> 8));
}

void fm_w32(struct fakemem *fm, uint64_t phys, uint32_t v)
{
	fm_w16(fm, phys, (uint16_t)v);
	fm_w16(fm, phys + 2, (uint16_t)(v >> 16));
}

void fm_w64(struct fakemem *fm, uint64_t phys, uint64_t v)
{
	fm_w32(fm, phys, (uint32_t)v);
	fm_w32(fm, phys + 4, (uint32_t)(v >> 32));
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

void fm_fix_checksum(struct fakemem *fm, uint64_t phys)
{
	uint8_t *t = fm_at(fm, phys);
	uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 |
		       (uint32_t)t[7] << 24;

	assert(phys + len <= fm->size);
	t[9] = 0;
	t[9] = (uint8_t)-sum(t, len);
}

/* --- table buffers ------------------------------------------------------ */

static void tb_grow(struct tb *t, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 64;
		t->data = realloc(t->data, t->cap);
		assert(t->data);
	}
}

void tb_bytes(struct tb *t, const void *p, size_t n)
{
	tb_grow(t, n);
	memcpy(t->data + t->len, p, n);
	t->len += n;
}

void tb_zero(struct tb *t, size_t n)
{
	tb_grow(t, n);
	memset(t->data + t->len, 0, n);
	t->len += n;
}

void tb_u8(struct tb *t, uint8_t v)
{
	tb_bytes(t, &v, 1);
}

void tb_u16(struct tb *t, uint16_t v)
{
	tb_u8(t, (uint8_t)v);
	tb_u8(t, (uint8_t)(v >> 8));
}

void tb_u32(struct tb *t, uint32_t v)
{
	tb_u16(t, (uint16_t)v);
	tb_u16(t, (uint16_t)(v >> 16));
}

void tb_u64(struct tb *t, uint64_t v)
{
	tb_u32(t, (uint32_t)v);
	tb_u32(t, (uint32_t)(v >> 32));
}

void tb_gas(struct tb *t, uint8_t space, uint8_t width, uint8_t offset, uint8_t access,
	    uint64_t addr)
{
	tb_u8(t, space);
	tb_u8(t, width);
	tb_u8(t, offset);
	tb_u8(t, access);
	tb_u64(t, addr);
}

void tb_begin(struct tb *t, const char sig[4], uint8_t revision)
{
	memset(t, 0, sizeof(*t));
	tb_bytes(t, sig, 4);
	tb_u32(t, 0);            /* Length, set by tb_place */
	tb_u8(t, revision);
	tb_u8(t, 0);             /* Checksum, set by tb_place */
	tb_bytes(t, "VIGIL ", 6);
	tb_bytes(t, "TESTTBL ", 8);
	tb_u32(t, 1);            /* OEM Revision */
	tb_bytes(t, "VTST", 4);  /* Creator ID */
	tb_u32(t, 1);            /* Creator Revision */
}

uint64_t tb_place_raw(struct tb *t, struct fakemem *fm)
{
	uint64_t phys = fm_alloc(fm, t->len, 16);

	memcpy(fm_at(fm, phys), t->data, t->len);
	free(t->data);
	memset(t, 0, sizeof(*t));
	return phys;
}

uint64_t tb_place(struct tb *t, struct fakemem *fm)
{
	uint32_t len = (uint32_t)t->len;

	t->data[4] = (uint8_t)len;
	t->data[5] = (uint8_t)(len >> 8);
	t->data[6] = (uint8_t)(len >> 16);
	t->data[7] = (uint8_t)(len >> 24);
	t->data[9] = 0;
	t->data[9] = (uint8_t)-sum(t->data, t->len);
	return tb_place_raw(t, fm);
}

/* --- MADT ---------------------------------------------------------------- */

void ab_madt_begin(struct tb *t, uint8_t revision, uint32_t lapic_addr, uint32_t flags)
{
	tb_begin(t, "APIC", revision);
	tb_u32(t, lapic_addr);
	tb_u32(t, flags);
}

void ab_madt_lapic(struct tb *t, uint8_t uid, uint8_t apic_id, uint32_t flags)
{
	tb_u8(t, 0);
	tb_u8(t, 8);
	tb_u8(t, uid);
	tb_u8(t, apic_id);
	tb_u32(t, flags);
}

void ab_madt_x2apic(struct tb *t, uint32_t uid, uint32_t x2apic_id, uint32_t flags)
{
	tb_u8(t, 9);
	tb_u8(t, 16);
	tb_u16(t, 0);
	tb_u32(t, x2apic_id);
	tb_u32(t, flags);
	tb_u32(t, uid);
}

void ab_madt_ioapic(struct tb *t, uint8_t id, uint32_t addr, uint32_t gsi_base)
{
	tb_u8(t, 1);
	tb_u8(t, 12);
	tb_u8(t, id);
	tb_u8(t, 0);
	tb_u32(t, addr);
	tb_u32(t, gsi_base);
}

void ab_madt_iso(struct tb *t, uint8_t source, uint32_t gsi, uint16_t flags)
{
	tb_u8(t, 2);
	tb_u8(t, 10);
	tb_u8(t, 0);
	tb_u8(t, source);
	tb_u32(t, gsi);
	tb_u16(t, flags);
}

void ab_madt_nmi_source(struct tb *t, uint16_t flags, uint32_t gsi)
{
	tb_u8(t, 3);
	tb_u8(t, 8);
	tb_u16(t, flags);
	tb_u32(t, gsi);
}

void ab_madt_lapic_nmi(struct tb *t, uint8_t uid, uint16_t flags, uint8_t lint)
{
	tb_u8(t, 4);
	tb_u8(t, 6);
	tb_u8(t, uid);
	tb_u16(t, flags);
	tb_u8(t, lint);
}

void ab_madt_x2apic_nmi(struct tb *t, uint32_t uid, uint16_t flags, uint8_t lint)
{
	tb_u8(t, 0xA);
	tb_u8(t, 12);
	tb_u16(t, flags);
	tb_u32(t, uid);
	tb_u8(t, lint);
	tb_zero(t, 3);
}

void ab_madt_lapic_override(struct tb *t, uint64_t addr)
{
	tb_u8(t, 5);
	tb_u8(t, 12);
	tb_u16(t, 0);
	tb_u64(t, addr);
}

/* --- FADT, FACS, DSDT, HPET, SPCR, others --------------------------------- */

static void put8(uint8_t *b, uint32_t len, uint32_t off, uint8_t v)
{
	if (off + 1 <= len)
		b[off] = v;
}

static void put16(uint8_t *b, uint32_t len, uint32_t off, uint16_t v)
{
	put8(b, len, off, (uint8_t)v);
	put8(b, len, off + 1, (uint8_t)(v >> 8));
}

static void put32(uint8_t *b, uint32_t len, uint32_t off, uint32_t v)
{
	if (off + 4 > len)
		return;
	put16(b, len, off, (uint16_t)v);
	put16(b, len, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *b, uint32_t len, uint32_t off, uint64_t v)
{
	if (off + 8 > len)
		return;
	put32(b, len, off, (uint32_t)v);
	put32(b, len, off + 4, (uint32_t)(v >> 32));
}

static void putgas(uint8_t *b, uint32_t len, uint32_t off, const struct acpi_gas *g)
{
	if (off + 12 > len)
		return;
	b[off] = g->space_id;
	b[off + 1] = g->bit_width;
	b[off + 2] = g->bit_offset;
	b[off + 3] = g->access_size;
	put64(b, len, off + 4, g->address);
}

uint64_t ab_fadt(struct fakemem *fm, const struct ab_fadt *f)
{
	struct tb t;
	uint8_t *b;
	uint32_t len = f->length;

	tb_begin(&t, "FACP", f->revision);
	tb_zero(&t, len - 36);
	b = t.data;
	put32(b, len, 36, f->firmware_ctrl);
	put32(b, len, 40, f->dsdt);
	put16(b, len, 46, f->sci_int);
	put32(b, len, 48, f->smi_cmd);
	put8(b, len, 52, f->acpi_enable);
	put8(b, len, 53, f->acpi_disable);
	put32(b, len, 56, f->pm1a_evt);
	put32(b, len, 60, f->pm1b_evt);
	put32(b, len, 64, f->pm1a_cnt);
	put32(b, len, 68, f->pm1b_cnt);
	put32(b, len, 76, f->pm_tmr);
	put32(b, len, 80, f->gpe0_blk);
	put8(b, len, 88, f->pm1_evt_len);
	put8(b, len, 89, f->pm1_cnt_len);
	put8(b, len, 91, f->pm_tmr_len);
	put8(b, len, 92, f->gpe0_blk_len);
	put8(b, len, 108, f->century);
	put16(b, len, 109, f->iapc_boot_arch);
	put32(b, len, 112, f->flags);
	putgas(b, len, 116, &f->reset_reg);
	put8(b, len, 128, f->reset_value);
	put8(b, len, 131, f->minor);
	put64(b, len, 132, f->x_firmware_ctrl);
	put64(b, len, 140, f->x_dsdt);
	putgas(b, len, 148, &f->x_pm1a_evt);
	putgas(b, len, 160, &f->x_pm1b_evt);
	putgas(b, len, 172, &f->x_pm1a_cnt);
	putgas(b, len, 184, &f->x_pm1b_cnt);
	putgas(b, len, 208, &f->x_pm_tmr);
	return tb_place(&t, fm);
}

uint64_t ab_facs(struct fakemem *fm, uint8_t version, uint32_t hw_sig, uint32_t waking,
		 uint64_t x_waking, uint32_t flags)
{
	uint64_t phys = fm_alloc(fm, 64, 64);

	memcpy(fm_at(fm, phys), "FACS", 4);
	fm_w32(fm, phys + 4, 64);
	fm_w32(fm, phys + 8, hw_sig);
	fm_w32(fm, phys + 12, waking);
	fm_w32(fm, phys + 16, 0);
	fm_w32(fm, phys + 20, flags);
	fm_w64(fm, phys + 24, x_waking);
	fm_w8(fm, phys + 32, version);
	return phys;
}

uint64_t ab_dsdt(struct fakemem *fm, const void *aml, size_t n)
{
	struct tb t;

	tb_begin(&t, "DSDT", 2);
	tb_bytes(&t, aml, n);
	return tb_place(&t, fm);
}

uint64_t ab_hpet(struct fakemem *fm, uint8_t space, uint64_t base, uint32_t block_id)
{
	struct tb t;

	tb_begin(&t, "HPET", 1);
	tb_u32(&t, block_id);
	tb_gas(&t, space, 64, 0, 0, base);
	tb_u8(&t, 0);         /* HPET Number */
	tb_u16(&t, 0x80);     /* Main Counter Minimum Clock_tick */
	tb_u8(&t, 0);         /* Page Protection */
	return tb_place(&t, fm);
}

uint64_t ab_spcr(struct fakemem *fm, uint8_t revision, uint8_t iface, uint8_t space,
		 uint64_t base, uint8_t irq_type, uint8_t irq, uint32_t gsi, uint8_t baud_code)
{
	struct tb t;

	tb_begin(&t, "SPCR", revision);
	tb_u8(&t, iface);
	tb_zero(&t, 3);
	tb_gas(&t, space, 8, 0, 1, base);
	tb_u8(&t, irq_type);
	tb_u8(&t, irq);
	tb_u32(&t, gsi);
	tb_u8(&t, baud_code);
	tb_u8(&t, 0);         /* parity */
	tb_u8(&t, 1);         /* stop bits */
	tb_u8(&t, 0);         /* flow control */
	tb_u8(&t, 3);         /* terminal type ANSI */
	tb_u8(&t, 0);         /* language */
	tb_u16(&t, 0xFFFF);   /* PCI device */
	tb_u16(&t, 0xFFFF);   /* PCI vendor */
	tb_zero(&t, 3 + 4 + 1 + 4); /* bus, device, function, flags, segment, reserved */
	assert(t.len == 80);
	return tb_place(&t, fm);
}

uint64_t ab_simple(struct fakemem *fm, const char sig[4], size_t n)
{
	struct tb t;

	tb_begin(&t, sig, 1);
	for (size_t i = 0; i < n; i++)
		tb_u8(&t, (uint8_t)(i * 7));
	return tb_place(&t, fm);
}

/* --- RSDP and root tables --------------------------------------------------- */

uint64_t ab_rsdp(struct fakemem *fm, uint64_t at, uint8_t revision, uint32_t rsdt,
		 uint64_t xsdt)
{
	size_t len = revision >= 2 ? 36 : 20;
	uint64_t phys = at ? at : fm_alloc(fm, 36, 16);
	uint8_t *p = fm_at(fm, phys);

	memset(p, 0, len);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "VIGIL ", 6);
	p[15] = revision;
	fm_w32(fm, phys + 16, rsdt);
	p[8] = (uint8_t)-sum(p, 20);
	if (revision >= 2) {
		fm_w32(fm, phys + 20, 36);
		fm_w64(fm, phys + 24, xsdt);
		p[32] = (uint8_t)-sum(p, 36);
	}
	return phys;
}

uint64_t ab_rsdt(struct fakemem *fm, const uint64_t *tables, size_t n)
{
	struct tb t;

	tb_begin(&t, "RSDT", 1);
	for (size_t i = 0; i < n; i++)
		tb_u32(&t, (uint32_t)tables[i]);
	return tb_place(&t, fm);
}

uint64_t ab_xsdt(struct fakemem *fm, const uint64_t *tables, size_t n)
{
	struct tb t;

	tb_begin(&t, "XSDT", 1);
	for (size_t i = 0; i < n; i++)
		tb_u64(&t, tables[i]);
	return tb_place(&t, fm);
}

/* --- the default platform ------------------------------------------------------ */

uint64_t ab_default_madt(struct fakemem *fm)
{
	struct tb t;

	ab_madt_begin(&t, 5, 0xFEE00000, 1 /* PCAT_COMPAT */);
	for (uint8_t i = 0; i < 4; i++)
		ab_madt_lapic(&t, i, i, ACPI_MADT_ENABLED);
	ab_madt_ioapic(&t, 0, 0xFEC00000, 0);
	ab_madt_iso(&t, 0, 2, 0);
	ab_madt_iso(&t, 9, 9, 0xD);   /* active high, level */
	ab_madt_lapic_nmi(&t, 0xFF, 0, 1);
	return tb_place(&t, fm);
}

uint64_t ab_default_dsdt(struct fakemem *fm)
{
	static const uint8_t aml[] = {
		/* Scope (\_SB) { Name (XS5_, 1) } with "_S5_" bytes not after a NameOp */
		0x10, 0x0C, 0x5C, '_', 'S', 'B', '_', 0x08, 'X', 'S', '5', '_', 0x01,
		0x0D, '_', 'S', '5', '_', 0x00,  /* a String "_S5_" */
		/* Name (_S3_, Package (0x04) { 0x05, One, Zero, Zero }) */
		0x08, '_', 'S', '3', '_', 0x12, 0x07, 0x04, 0x0A, 0x05, 0x01, 0x00, 0x00,
		/* Name (\_S5_, Package (0x02) { 0x07, Zero }) */
		0x08, 0x5C, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0A, 0x07, 0x00,
		/* QEMU's CPU-hotplug block: OperationRegion (PRST, SystemIO, 0x0CD8, 0x0C) */
		0x5B, 0x80, 'P', 'R', 'S', 'T', 0x01, 0x0B, 0xD8, 0x0C, 0x0A, 0x0C,
		/* trailing method bytes */
		0x14, 0x07, 'M', 'T', 'H', '_', 0x00, 0xA3,
	};

	return ab_dsdt(fm, aml, sizeof(aml));
}

void ab_default_fadt(struct ab_fadt *f, uint64_t facs, uint64_t dsdt)
{
	memset(f, 0, sizeof(*f));
	f->revision = 6;
	f->minor = 5;
	f->length = 276;
	f->x_firmware_ctrl = facs;
	f->x_dsdt = dsdt;
	f->dsdt = (uint32_t)dsdt;
	f->sci_int = 9;
	f->smi_cmd = 0xB2;
	f->acpi_enable = 0xF1;
	f->acpi_disable = 0xF0;
	f->pm1a_evt = 0x600;
	f->pm1a_cnt = 0x604;
	f->pm_tmr = 0x608;
	f->pm1_evt_len = 4;
	f->pm1_cnt_len = 2;
	f->pm_tmr_len = 4;
	f->gpe0_blk = 0x620;   /* QEMU q35: 16 bytes, status then enable */
	f->gpe0_blk_len = 16;
	f->century = 0x32;
	f->iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042;
	f->flags = ACPI_FADT_RESET_REG_SUP | ACPI_FADT_TMR_VAL_EXT;
	f->reset_reg = (struct acpi_gas){ ACPI_GAS_IO, 8, 0, 1, 0xCF9 };
	f->reset_value = 0x06;
	f->x_pm1a_evt = (struct acpi_gas){ ACPI_GAS_IO, 32, 0, 2, 0x600 };
	f->x_pm1a_cnt = (struct acpi_gas){ ACPI_GAS_IO, 16, 0, 2, 0x604 };
	f->x_pm_tmr = (struct acpi_gas){ ACPI_GAS_IO, 32, 0, 3, 0x608 };
}

void ab_default(struct ab_platform *p, struct fakemem *fm, uint8_t rsdp_revision)
{
	struct ab_fadt f;

	memset(p, 0, sizeof(*p));
	p->fm = fm;
	p->rsdp_revision = rsdp_revision;
	p->facs = ab_facs(fm, 2, 0x12345678, 0, 0, 0);
	p->dsdt = ab_default_dsdt(fm);
	ab_default_fadt(&f, p->facs, p->dsdt);
	p->fadt = ab_fadt(fm, &f);
	p->madt = ab_default_madt(fm);
	p->hpet = ab_hpet(fm, ACPI_GAS_MEMORY, 0xFED00000, 0x8086A201);
	p->spcr = ab_spcr(fm, 2, 0, ACPI_GAS_IO, 0x3F8, 1, 4, 4, 7);
	p->ssdt = ab_simple(fm, "SSDT", 40);
}

uint64_t ab_finish(struct ab_platform *p)
{
	uint64_t list[8 + 8];
	size_t n = 0;
	const uint64_t fixed[] = { p->fadt, p->madt, p->hpet, p->spcr, p->ssdt };

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i])
			list[n++] = fixed[i];
	for (size_t i = 0; i < p->nr_extra; i++)
		list[n++] = p->extra[i];
	p->rsdt = ab_rsdt(p->fm, list, n);
	p->xsdt = p->rsdp_revision >= 2 ? ab_xsdt(p->fm, list, n) : 0;
	p->rsdp = ab_rsdp(p->fm, p->rsdp_at, p->rsdp_revision, (uint32_t)p->rsdt, p->xsdt);
	return p->rsdp;
}

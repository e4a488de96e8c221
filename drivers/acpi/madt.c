/*
 * The Multiple APIC Description Table (ACPI 6.5 5.2.12): the list of
 * possible CPUs, the I/O APICs, ISA interrupt overrides and NMI wiring.
 *
 * The MADT is load-bearing (it is the only list of CPUs), so a structural
 * fault here is fatal: an entry with a length too small for its type, an
 * entry overrunning the table, or two possible CPUs with the same APIC ID.
 */
#include "acpi_internal.h"

#define MADT_LAPIC_ADDR   36   /* u32 */
#define MADT_FLAGS        40   /* u32 */
#define MADT_ENTRIES      44
#define MADT_PCAT_COMPAT  (1u << 0)

/* Interrupt Controller Structure types (Table 5.45) and their lengths. */
enum {
	MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_ISO = 2, MADT_NMI_SOURCE = 3,
	MADT_LAPIC_NMI = 4, MADT_LAPIC_OVERRIDE = 5, MADT_X2APIC = 9, MADT_X2APIC_NMI = 0xA,
};

static uint8_t min_len(uint8_t type)
{
	switch (type) {
	case MADT_LAPIC:          return 8;   /* 5.2.12.2 */
	case MADT_IOAPIC:         return 12;  /* 5.2.12.3 */
	case MADT_ISO:            return 10;  /* 5.2.12.5 */
	case MADT_NMI_SOURCE:     return 8;   /* 5.2.12.6 */
	case MADT_LAPIC_NMI:      return 6;   /* 5.2.12.7 */
	case MADT_LAPIC_OVERRIDE: return 12;  /* 5.2.12.8 */
	case MADT_X2APIC:         return 16;  /* 5.2.12.12 */
	case MADT_X2APIC_NMI:     return 12;  /* 5.2.12.13 */
	default:                  return 2;   /* types we skip: just the type/length pair */
	}
}

/* Entries beyond a list's capacity, reported once per list at the end. */
struct dropped {
	uint32_t ioapics, isos, nmi_sources, lapic_nmis, disabled;
	uint32_t bad_ids, overrides;
};

struct madt {
	struct acpi_ctx *c;
	struct dropped drop;
	/* Online Capable (Table 5.47, bit 1) exists from MADT revision 5
	 * (ACPI 6.3); before that the bit is reserved and must be ignored.
	 * Some ACPI 6.3+ firmware kept an older MADT revision, so a FADT of
	 * version 6.3 or later also enables it (Linux does the same). */
	bool online_capable_defined;
};

static struct acpi_cpu *find_cpu(struct acpi_info *out, uint32_t apic_id)
{
	for (uint32_t i = 0; i < out->nr_cpus; i++)
		if (out->cpus[i].apic_id == apic_id)
			return &out->cpus[i];
	return NULL;
}

static int add_cpu(struct madt *md, uint32_t off, uint32_t apic_id, uint32_t uid, uint32_t flags,
		   bool x2apic)
{
	struct acpi_ctx *c = md->c;
	struct acpi_info *out = c->out;
	struct acpi_cpu cpu = {
		.apic_id = apic_id, .uid = uid, .flags = flags, .x2apic = x2apic,
		.enabled = flags & ACPI_MADT_ENABLED,
	};
	struct acpi_cpu *prev;

	/* 5.2.12.2: Online Capable "must be zero" when Enabled is set. */
	cpu.online_capable = !cpu.enabled && md->online_capable_defined &&
			     (flags & ACPI_MADT_ONLINE_CAPABLE);
	if (!cpu.enabled && !cpu.online_capable) {
		/* Firmware lists unpopulated sockets this way, often all with
		 * the same placeholder ID: not CPUs, not duplicates. */
		if (out->nr_disabled < ACPI_MAX_DISABLED_CPUS)
			out->disabled[out->nr_disabled] = cpu;
		else
			md->drop.disabled++;
		out->nr_disabled++;
		return 0;
	}
	/* 0xFF is the xAPIC broadcast ID, 0xFFFFFFFF the x2APIC one: no
	 * processor can have it. */
	if (apic_id == (x2apic ? 0xFFFFFFFFu : 0xFFu)) {
		if (md->drop.bad_ids++ == 0)
			acpi_warn(c, "MADT: entry type %u at offset %u has broadcast APIC ID 0x%x; ignored",
				  x2apic ? MADT_X2APIC : MADT_LAPIC, off, apic_id);
		return 0;
	}
	prev = find_cpu(out, apic_id);
	if (prev) {
		/* 5.2.12.12: processors with IDs below 255 use the xAPIC
		 * entry; some firmware repeats them as x2APIC entries too.
		 * Same CPU described twice: keep the first. */
		if (prev->x2apic != x2apic && apic_id < 0xFF) {
			acpi_warn(c, "MADT: APIC ID %u in both xAPIC and x2APIC entries; using the first",
				  apic_id);
			return 0;
		}
		return acpi_faultf(c, ACPI_EDUPLICATE,
				   "MADT: APIC ID %u listed twice (entry type %u at offset %u)", apic_id,
				   x2apic ? MADT_X2APIC : MADT_LAPIC, off);
	}
	if (out->nr_cpus >= ACPI_MAX_CPUS) {
		out->nr_cpus_dropped++;
		return 0;
	}
	out->cpus[out->nr_cpus++] = cpu;
	if (cpu.enabled)
		out->nr_cpus_enabled++;
	return 0;
}

static int entry(struct madt *md, const uint8_t *e, uint8_t type, uint32_t off)
{
	struct acpi_info *out = md->c->out;

	switch (type) {
	case MADT_LAPIC:
		return add_cpu(md, off, e[3], e[2], acpi_rd32(e + 4), false);
	case MADT_X2APIC:
		return add_cpu(md, off, acpi_rd32(e + 4), acpi_rd32(e + 12), acpi_rd32(e + 8), true);
	case MADT_IOAPIC:
		if (out->nr_ioapics >= ACPI_MAX_IOAPICS) {
			md->drop.ioapics++;
			break;
		}
		out->ioapics[out->nr_ioapics++] = (struct acpi_ioapic){
			.id = e[2], .address = acpi_rd32(e + 4), .gsi_base = acpi_rd32(e + 8),
		};
		break;
	case MADT_ISO:
		if (out->nr_isos >= ACPI_MAX_ISOS) {
			md->drop.isos++;
			break;
		}
		out->isos[out->nr_isos++] = (struct acpi_iso){
			.bus = e[2], .source = e[3], .gsi = acpi_rd32(e + 4), .flags = acpi_rd16(e + 8),
		};
		break;
	case MADT_NMI_SOURCE:
		if (out->nr_nmi_sources >= ACPI_MAX_NMI_SOURCES) {
			md->drop.nmi_sources++;
			break;
		}
		out->nmi_sources[out->nr_nmi_sources++] = (struct acpi_nmi_source){
			.flags = acpi_rd16(e + 2), .gsi = acpi_rd32(e + 4),
		};
		break;
	case MADT_LAPIC_NMI:
	case MADT_X2APIC_NMI:
		if (out->nr_lapic_nmis >= ACPI_MAX_LAPIC_NMIS) {
			md->drop.lapic_nmis++;
			break;
		}
		if (type == MADT_LAPIC_NMI) /* UID 0xFF means all processors (5.2.12.7) */
			out->lapic_nmis[out->nr_lapic_nmis++] = (struct acpi_lapic_nmi){
				.uid = e[2] == 0xFF ? ACPI_UID_ALL : e[2],
				.flags = acpi_rd16(e + 3), .lint = e[5],
			};
		else
			out->lapic_nmis[out->nr_lapic_nmis++] = (struct acpi_lapic_nmi){
				.uid = acpi_rd32(e + 4), .flags = acpi_rd16(e + 2), .lint = e[8],
			};
		break;
	case MADT_LAPIC_OVERRIDE:
		/* 5.2.12.8: at most one; it replaces the 32-bit address. */
		if (out->lapic_override) {
			md->drop.overrides++;
			break;
		}
		out->lapic_override = true;
		out->lapic_phys = acpi_rd64(e + 4);
		break;
	default:
		/* SAPIC, GIC, wakeup mailbox, ...: nothing for x86 CPU bring-up. */
		break;
	}
	return 0;
}

static void report_drops(struct madt *md)
{
	struct acpi_ctx *c = md->c;
	struct acpi_info *out = c->out;

	if (out->nr_cpus_dropped)
		acpi_warn(c, "MADT: %u CPUs beyond the first %u dropped", out->nr_cpus_dropped,
			  ACPI_MAX_CPUS);
	if (md->drop.ioapics)
		acpi_warn(c, "MADT: %u I/O APICs beyond the first %u dropped", md->drop.ioapics,
			  ACPI_MAX_IOAPICS);
	if (md->drop.isos)
		acpi_warn(c, "MADT: %u interrupt overrides beyond the first %u dropped",
			  md->drop.isos, ACPI_MAX_ISOS);
	if (md->drop.nmi_sources)
		acpi_warn(c, "MADT: %u NMI sources beyond the first %u dropped",
			  md->drop.nmi_sources, ACPI_MAX_NMI_SOURCES);
	if (md->drop.lapic_nmis)
		acpi_warn(c, "MADT: %u local APIC NMI entries beyond the first %u dropped",
			  md->drop.lapic_nmis, ACPI_MAX_LAPIC_NMIS);
	if (md->drop.overrides)
		acpi_warn(c, "MADT: %u extra local APIC address overrides ignored",
			  md->drop.overrides);
	/* drop.disabled needs no warning: out->nr_disabled has the count. */
}

/*
 * Walk the Interrupt Controller Structures (5.2.12, Table 5.44: each starts
 * with Type and Length), checking every length before anything is read.
 * With md == NULL the walk only checks (a duplicate MADT); otherwise each
 * entry is handed to entry().
 */
static int walk(struct acpi_ctx *c, struct madt *md, const uint8_t *t, uint32_t len)
{
	uint32_t off;
	int rc;

	if (len < MADT_ENTRIES)
		return acpi_faultf(c, ACPI_ELENGTH, "MADT: length %u smaller than its fixed part (%u)",
				   len, MADT_ENTRIES);
	for (off = MADT_ENTRIES; off < len;) {
		const uint8_t *e = t + off;
		uint8_t type, elen;

		if (len - off < 2)
			return acpi_faultf(c, ACPI_EMALFORMED,
					   "MADT: entry at offset %u truncated (%u byte left)", off,
					   len - off);
		type = e[0];
		elen = e[1];
		/* A length below 2 would never advance: the classic
		 * infinite loop of trusting parsers. */
		if (elen < 2)
			return acpi_faultf(c, ACPI_EMALFORMED,
					   "MADT: entry type %u at offset %u has length %u", type, off,
					   elen);
		if (elen > len - off)
			return acpi_faultf(c, ACPI_EMALFORMED,
					   "MADT: entry type %u at offset %u overruns the table (length %u, %u bytes left)",
					   type, off, elen, len - off);
		if (elen < min_len(type))
			return acpi_faultf(c, ACPI_EMALFORMED,
					   "MADT: entry type %u at offset %u has length %u, needs %u", type,
					   off, elen, min_len(type));
		if (md) {
			rc = entry(md, e, type, off);
			if (rc)
				return rc;
		}
		off += elen;
	}
	return 0;
}

int acpi_madt_check(struct acpi_ctx *c, const uint8_t *t, uint32_t len)
{
	return walk(c, NULL, t, len);
}

int acpi_madt_parse(struct acpi_ctx *c, uint64_t phys, const uint8_t *t, uint32_t len)
{
	struct acpi_info *out = c->out;
	struct madt md = { .c = c };
	int rc;

	if (len < MADT_ENTRIES)
		return walk(c, NULL, t, len);	/* reports the short length */
	out->madt_phys = phys;
	out->madt_revision = t[ACPI_HDR_REVISION];
	out->lapic_phys = acpi_rd32(t + MADT_LAPIC_ADDR);
	out->pcat_compat = acpi_rd32(t + MADT_FLAGS) & MADT_PCAT_COMPAT;
	md.online_capable_defined = out->madt_revision >= 5 ||
		(out->has_fadt && (out->fadt_revision > 6 ||
				   (out->fadt_revision == 6 && out->fadt_minor >= 3)));

	rc = walk(c, &md, t, len);
	if (rc)
		return rc;
	report_drops(&md);

	/* 5.2.12.2: the boot processor is always enabled; none enabled means
	 * the table is not describing this machine. */
	if (out->nr_cpus_enabled == 0)
		return acpi_faultf(c, ACPI_EMALFORMED, "MADT: no enabled processor");
	return 0;
}

/*
 * ACPI table discovery and parsing (drivers/acpi/).
 *
 * The parser reads firmware tables and fills one plain structure,
 * struct acpi_info, that the rest of the kernel uses: the list of possible
 * CPUs (MADT), the power-management registers (FADT, FACS), the \_S3 and \_S5
 * sleep types (DSDT), the HPET and the serial console (SPCR).  After
 * acpi_parse() returns, nothing points into firmware memory: only physical
 * addresses are kept.
 *
 * The parser never touches physical memory itself.  Every read goes through
 * struct acpi_mapper: in the kernel it returns a direct-map pointer, in the
 * host unit tests a pointer into a fake "physical memory" buffer.  This keeps
 * the code pure C (freestanding in the kernel, cmocka + sanitizers on the
 * host) and makes every out-of-range pointer in a table a reportable fault
 * instead of a crash.
 *
 * Error policy (see acpi_parse() below): faults in the tables the kernel
 * cannot run without (RSDP, RSDT/XSDT, MADT) and in a FADT that is present
 * are fatal; faults in anything else become warnings and that table is
 * skipped.
 *
 * Spec references are to ACPI 6.5 unless noted.
 */
#ifndef VIGIL_ACPI_H
#define VIGIL_ACPI_H

#include <vigil/config.h>
#include <vigil/types.h>

/* --- Limits ------------------------------------------------------------- */

#define ACPI_MAX_CPUS          CONFIG_MAX_CPUS  /* possible CPUs kept; more are dropped with a warning */
#define ACPI_MAX_DISABLED_CPUS 64   /* MADT entries neither enabled nor online-capable */
#define ACPI_MAX_IOAPICS       16
#define ACPI_MAX_ISOS          48   /* interrupt source overrides */
#define ACPI_MAX_NMI_SOURCES   16
#define ACPI_MAX_LAPIC_NMIS    ACPI_MAX_CPUS /* firmware often lists one per CPU */
#define ACPI_MAX_TABLES        48   /* table listing for the `acpi` command */
#define ACPI_MAX_WARNINGS      8
#define ACPI_WARNING_LEN       96
/* Largest table length accepted.  Real tables are far smaller (a big server
 * DSDT is a few hundred KiB); a larger length means a corrupt header. */
#define ACPI_MAX_TABLE_LEN     (1u << 20)

/* --- Error codes (negative return values) -------------------------------- */

#define ACPI_OK            0
#define ACPI_ENOTFOUND   (-1)  /* RSDP or a required table is missing */
#define ACPI_EMAP        (-2)  /* a physical range could not be mapped */
#define ACPI_ESIGNATURE  (-3)  /* wrong signature */
#define ACPI_ECHECKSUM   (-4)  /* checksum (or RSDP extended checksum) mismatch */
#define ACPI_ELENGTH     (-5)  /* length too small, too large or inconsistent */
#define ACPI_EMALFORMED  (-6)  /* structure inside a table is invalid */
#define ACPI_EDUPLICATE  (-7)  /* the same APIC ID listed for two possible CPUs */
#define ACPI_EINVAL      (-8)  /* bad arguments */

/* Short name of an ACPI_E* code ("checksum mismatch", ...). */
const char *acpi_strerror(int err);

/* --- Memory access -------------------------------------------------------- */

/*
 * Return a readable pointer to physical [phys, phys + len), or NULL when that
 * range cannot be read (outside RAM/firmware areas, or not mapped).  The
 * pointer must stay valid until acpi_parse()/acpi_find_rsdp_bios() returns.
 * len is never 0.  The parser makes no alignment assumptions: the pointer
 * may be byte-aligned and every multi-byte field is read byte by byte.
 */
struct acpi_mapper {
	const void *(*map)(uint64_t phys, size_t len, void *ctx);
	void *ctx;
};

/* --- Parsed information --------------------------------------------------- */

/* Generic Address Structure (ACPI 6.5 5.2.3.2). */
#define ACPI_GAS_MEMORY  0x00
#define ACPI_GAS_IO      0x01
#define ACPI_GAS_PCI_CFG 0x02
#define ACPI_GAS_FFH     0x7F

struct acpi_gas {
	uint8_t space_id;     /* ACPI_GAS_* */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;  /* 0 undefined, 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;     /* 0: register not present */
};

/* One processor from the MADT (ACPI 6.5 5.2.12.2 and 5.2.12.12). */
#define ACPI_MADT_ENABLED        (1u << 0)
#define ACPI_MADT_ONLINE_CAPABLE (1u << 1)
#define ACPI_UID_ALL             0xFFFFFFFFu /* NMI entries: "all processors" */

struct acpi_cpu {
	uint32_t apic_id;     /* xAPIC ID (type 0 entry) or x2APIC ID (type 9) */
	uint32_t uid;         /* ACPI processor UID */
	uint32_t flags;       /* raw MADT flags */
	bool enabled;         /* usable now */
	bool online_capable;  /* not enabled, but can be brought online later */
	bool x2apic;          /* came from a Processor Local x2APIC entry */
};

/* I/O APIC (5.2.12.3). */
struct acpi_ioapic {
	uint8_t id;
	uint32_t address;     /* physical MMIO base */
	uint32_t gsi_base;
};

/* Interrupt Source Override (5.2.12.5); flags are MPS INTI flags (Table 5.50). */
#define ACPI_INTI_POLARITY_MASK 0x3
#define ACPI_INTI_TRIGGER_MASK  0xC
struct acpi_iso {
	uint8_t bus;          /* always 0 (ISA) */
	uint8_t source;       /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;
};

/* NMI Source (5.2.12.6). */
struct acpi_nmi_source {
	uint16_t flags;
	uint32_t gsi;
};

/* Local APIC NMI (5.2.12.7) and Local x2APIC NMI (5.2.12.13). */
struct acpi_lapic_nmi {
	uint32_t uid;         /* processor UID, ACPI_UID_ALL for every processor */
	uint16_t flags;
	uint8_t lint;         /* LINT0 or LINT1 */
};

/* FADT Flags (Table 5.10) and IAPC_BOOT_ARCH (Table 5.11) bits we use. */
#define ACPI_FADT_TMR_VAL_EXT      (1u << 8)
#define ACPI_FADT_RESET_REG_SUP    (1u << 10)
#define ACPI_FADT_HW_REDUCED_ACPI  (1u << 20)
#define ACPI_IAPC_LEGACY_DEVICES   (1u << 0)
#define ACPI_IAPC_8042             (1u << 1)
#define ACPI_IAPC_VGA_NOT_PRESENT  (1u << 2)
#define ACPI_IAPC_MSI_NOT_SUPPORTED (1u << 3)
#define ACPI_IAPC_PCIE_ASPM        (1u << 4)
#define ACPI_IAPC_CMOS_RTC_ABSENT  (1u << 5)

/* One sleep state's SLP_TYPa/SLP_TYPb values (3-bit fields of PM1x_CNT,
 * ACPI 6.5 4.8.3.2.1), from the \_Sx package (7.4.2). */
struct acpi_sleep_type {
	bool valid;
	uint8_t slp_typa;
	uint8_t slp_typb;
};

/* One table found, for listing. */
struct acpi_table_desc {
	char signature[5];    /* NUL-terminated; non-printable bytes shown as '?' */
	char oem_id[7];
	char oem_table_id[9];
	uint8_t revision;
	bool valid;           /* header and checksum passed */
	uint32_t length;
	uint64_t phys;
};

struct acpi_info {
	/* RSDP (5.2.5) and the root table. */
	uint64_t rsdp_phys;
	uint8_t rsdp_revision;         /* 0: ACPI 1.0, 2: ACPI 2.0+ */
	char oem_id[7];
	bool root_is_xsdt;
	uint64_t root_phys;            /* XSDT or RSDT */

	/* MADT (5.2.12). */
	uint64_t madt_phys;
	uint8_t madt_revision;
	uint64_t lapic_phys;           /* after a Local APIC Address Override (type 5) */
	bool lapic_override;
	bool pcat_compat;              /* dual 8259s present: mask them */
	uint32_t nr_cpus;              /* possible CPUs: enabled or online-capable */
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	uint32_t nr_cpus_enabled;
	uint32_t nr_cpus_dropped;      /* beyond ACPI_MAX_CPUS */
	uint32_t nr_disabled;          /* neither enabled nor online-capable (excluded) */
	struct acpi_cpu disabled[ACPI_MAX_DISABLED_CPUS]; /* first few of those, for reference */
	uint32_t nr_ioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	uint32_t nr_isos;
	struct acpi_iso isos[ACPI_MAX_ISOS];
	uint32_t nr_nmi_sources;
	struct acpi_nmi_source nmi_sources[ACPI_MAX_NMI_SOURCES];
	uint32_t nr_lapic_nmis;
	struct acpi_lapic_nmi lapic_nmis[ACPI_MAX_LAPIC_NMIS];

	/* FADT (5.2.9).  The register blocks are resolved: the X_ GAS when its
	 * address is non-zero, else the 32-bit block as a system-I/O GAS. */
	bool has_fadt;
	uint64_t fadt_phys;
	uint8_t fadt_revision;         /* header revision (major version) */
	uint8_t fadt_minor;            /* FADT Minor Version, 0 when absent */
	uint32_t fadt_flags;
	uint16_t iapc_boot_arch;
	bool hw_reduced;
	uint16_t sci_irq;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	struct acpi_gas pm1a_evt, pm1b_evt;
	struct acpi_gas pm1a_cnt, pm1b_cnt;
	struct acpi_gas pm_tmr;
	struct acpi_gas gpe0_blk;      /* status half, then enable half (4.8.4.1) */
	uint8_t pm1_evt_len, pm1_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len;          /* both halves, bytes */
	bool pm_tmr_32bit;             /* TMR_VAL_EXT */
	bool has_reset_reg;            /* RESET_REG_SUP and a usable register */
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint8_t century;               /* CMOS index of the century, 0 if none */
	uint64_t dsdt_phys;            /* X_DSDT preferred */
	uint64_t facs_phys;            /* X_FIRMWARE_CTRL preferred; 0 if none */

	/* FACS (5.2.10).  Kept by physical address: the S3 code writes the
	 * waking vector into it later. */
	bool has_facs;
	uint32_t facs_length;
	uint32_t facs_hw_signature;
	uint32_t facs_flags;
	uint8_t facs_version;
	uint32_t fw_waking_vector;     /* current value of the 32-bit vector */
	uint64_t x_fw_waking_vector;   /* 64-bit vector (FACS version >= 1) */
	uint64_t fw_waking_vector_phys;   /* where to write the 32-bit vector */
	uint64_t x_fw_waking_vector_phys; /* where to write the 64-bit one; 0 if none */
	uint64_t global_lock_phys;

	/* DSDT (5.2.11.1): sleep types found by scanning the AML. */
	bool has_dsdt;
	uint32_t dsdt_length;
	struct acpi_sleep_type s3, s5;
	/* QEMU's CPU-hotplug register block (aml_cpuhp.c): the I/O port of
	 * OperationRegion (PRST, SystemIO, port, 12); 0 when there is none. */
	uint16_t cpuhp_port;

	/* HPET (IA-PC HPET specification 1.0a, 3.2.4). */
	bool has_hpet;
	uint64_t hpet_phys;            /* the table */
	uint64_t hpet_base;            /* the timer block, system memory */
	uint32_t hpet_block_id;        /* Event Timer Block ID */
	uint8_t hpet_number;
	uint16_t hpet_min_tick;

	/* SPCR (Microsoft Serial Port Console Redirection Table, rev 2-4). */
	bool has_spcr;
	uint8_t spcr_revision;
	uint8_t spcr_interface;        /* 0: 16550, 1: 16450, 0x12: 16550 with GAS, ... */
	struct acpi_gas spcr_base;     /* I/O port or MMIO */
	uint8_t spcr_irq_type;         /* bit 0 PC-AT IRQ, bit 1 I/O APIC, ... */
	uint8_t spcr_irq;              /* PC-AT IRQ */
	uint32_t spcr_gsi;
	uint32_t spcr_baud;            /* bits/s; 0 = keep what firmware set */
	uint8_t spcr_parity, spcr_stop_bits, spcr_flow, spcr_terminal;

	/* Every table found (root, listed tables, DSDT, FACS). */
	uint32_t nr_tables;
	struct acpi_table_desc tables[ACPI_MAX_TABLES];

	/* Non-fatal faults, oldest first; more than ACPI_MAX_WARNINGS are counted
	 * in warnings_lost. */
	uint32_t nr_warnings;
	uint32_t warnings_lost;
	char warnings[ACPI_MAX_WARNINGS][ACPI_WARNING_LEN];
};

/*
 * Parse the ACPI tables reachable from the RSDP at rsdp_phys into *out.
 *
 * Returns 0, or a negative ACPI_E* code with err (errlen bytes, may be NULL)
 * holding one line naming the table and the fault, e.g.
 * "MADT: checksum mismatch (sum 0x3c)".  *out is zeroed first; on failure it
 * holds what was parsed before the fault (and any warnings).
 *
 * Fatal: a bad RSDP, RSDT/XSDT or MADT, a missing MADT, and a present but
 * structurally broken FADT (signature, length, checksum), since the FADT is
 * what the kernel later writes hardware through (PM1 control, reset) and a
 * broken one more likely means a mapping bug than a harmless firmware quirk.
 * Everything else (DSDT, FACS, HPET, SPCR, other tables, a missing FADT,
 * inconsistent FADT fields, duplicate tables) becomes a warning in
 * out->warnings and the offending table or field is skipped.
 */
int acpi_parse(uint64_t rsdp_phys, const struct acpi_mapper *m, struct acpi_info *out,
	       char *err, size_t errlen);

/* The kernel's parse, filled at boot (arch/x86/acpi_init.c); acpi_ok is
 * false when the tables were not usable at all. */
extern struct acpi_info acpi;
extern bool acpi_ok;

/*
 * Find the RSDP the legacy-BIOS way (ACPI 6.5 5.2.5.1): the first KiB of the
 * EBDA (segment at 0x40E), then 0xE0000-0xFFFFF, on 16-byte boundaries.  A
 * candidate needs the signature and a valid checksum (and a valid extended
 * checksum for revision >= 2).  Returns 0 with *rsdp_phys set, or
 * ACPI_ENOTFOUND.
 */
int acpi_find_rsdp_bios(const struct acpi_mapper *m, uint64_t *rsdp_phys);

/* Decode a \_Sx package in AML, exposed for tests and fuzzing: scan
 * aml[0..len) for Name(_Sx_, Package(){a, b, ...}) where name is "_S5_" etc.
 * Returns 1 found (*st filled), 0 not present, or a negative ACPI_E* code with
 * err naming the fault and the offset into aml. */
int acpi_aml_find_sleep_type(const uint8_t *aml, size_t len, const char name[4],
			     struct acpi_sleep_type *st, char *err, size_t errlen);

/* The length of QEMU's modern CPU-hotplug register block. */
#define ACPI_CPUHP_REG_LEN 12

/* Find QEMU's CPU-hotplug block, OperationRegion (PRST, SystemIO, port, 12),
 * in aml[0..len), exposed for tests.  Returns 1 found (*port set), 0 not
 * present, or a negative ACPI_E* code with err naming the fault. */
int acpi_aml_find_cpu_hotplug(const uint8_t *aml, size_t len, uint16_t *port, char *err, size_t errlen);

#endif

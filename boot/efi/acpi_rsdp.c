/* SPDX-License-Identifier: MIT */
/*
 * The ACPI RSDP from the EFI configuration table.
 *
 * UEFI 2.10 section 4.6 (EFI Configuration Table): firmware publishes the
 * RSDP under EFI_ACPI_20_TABLE_GUID (ACPI 2.0+, with the XSDT) and/or
 * ACPI_TABLE_GUID (ACPI 1.0, RSDT only).  The 2.0 entry is preferred.  Each
 * candidate is checked (ACPI 6.5 section 5.2.5.3: signature, checksum of the
 * first 20 bytes, and for revision >= 2 the extended checksum over Length)
 * so that a broken entry falls back to the other one instead of handing the
 * kernel garbage.
 */
#include "loader.h"

struct rsdp {
	char signature[8];      /* "RSD PTR " */
	UINT8 checksum;         /* bytes 0..19 sum to 0 */
	char oem_id[6];
	UINT8 revision;         /* 0: ACPI 1.0; 2: ACPI 2.0+ */
	UINT32 rsdt_address;
	UINT32 length;          /* revision >= 2 only */
	UINT64 xsdt_address;
	UINT8 extended_checksum;
	UINT8 reserved[3];
} __attribute__((packed));

_Static_assert(sizeof(struct rsdp) == 36, "ACPI 2.0 RSDP is 36 bytes");

static EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;
static EFI_GUID acpi10_guid = ACPI_TABLE_GUID;

static UINT8 sum(const UINT8 *p, UINTN n)
{
	UINT8 s = 0;

	while (n--)
		s = (UINT8)(s + *p++);
	return s;
}

static BOOLEAN rsdp_valid(const struct rsdp *r)
{
	static const char sig[8] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ' };
	UINTN i;

	for (i = 0; i < sizeof(sig); i++)
		if (r->signature[i] != sig[i])
			return FALSE;
	if (sum((const UINT8 *)r, 20) != 0)
		return FALSE;
	if (r->revision >= 2 &&
	    (r->length < sizeof(*r) || sum((const UINT8 *)r, r->length) != 0))
		return FALSE;
	return TRUE;
}

static UINT64 lookup(EFI_GUID *guid, const CHAR16 *name)
{
	UINTN i;

	for (i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

		if (CompareGuid(&t->VendorGuid, guid) != 0)
			continue;
		if (rsdp_valid(t->VendorTable))
			return (UINT64)(UINTN)t->VendorTable;
		log_warn(L"%s RSDP at 0x%lx fails its checksum or signature", name,
			 (UINT64)(UINTN)t->VendorTable);
	}
	return 0;
}

UINT64 acpi_find_rsdp(void)
{
	UINT64 rsdp = lookup(&acpi20_guid, L"ACPI 2.0");
	const CHAR16 *kind = L"ACPI 2.0";

	if (!rsdp) {
		rsdp = lookup(&acpi10_guid, L"ACPI 1.0");
		kind = L"ACPI 1.0";
	}
	if (rsdp)
		log_info(L"RSDP at 0x%lx (%s)", rsdp, kind);
	else
		log_warn(L"no ACPI RSDP in the EFI configuration table");
	return rsdp;
}

/* SPDX-License-Identifier: MIT */
/*
 * The EFI memory map (UEFI 2.10 section 7.2, GetMemoryMap) and its
 * translation into boot_info.mmap.
 *
 * The buffer is allocated once, with slack, before the final GetMemoryMap:
 * between that call and ExitBootServices nothing may allocate, or the map key
 * goes stale (section 7.4).  The conversion (memmap_to_boot_info) calls no
 * boot service, because it runs after ExitBootServices.
 *
 * Descriptors are DescriptorSize bytes apart, which may be larger than
 * sizeof(EFI_MEMORY_DESCRIPTOR): always step by desc_size.
 */
#include "loader.h"

/* Room for the map to grow between sizing the buffer and using it: every
 * allocation may split a free range into up to three descriptors. */
#define MMAP_SLACK_DESCS 64

/* UEFI 2.10 Table 7-6 memory types the headers of this gnu-efi predate. */
#define EFI_PERSISTENT_MEMORY   14
#define EFI_UNACCEPTED_MEMORY   15
/* Attribute: "specific purpose" memory (UEFI 2.8+) is meant for a particular
 * driver or application, not for the OS's general allocator. */
#define EFI_MEMORY_SP           0x0000000000040000ULL

static inline const EFI_MEMORY_DESCRIPTOR *desc_at(const struct efi_mmap *m, UINTN i)
{
	return (const EFI_MEMORY_DESCRIPTOR *)((const UINT8 *)m->buf + i * m->desc_size);
}

static UINTN desc_count(const struct efi_mmap *m)
{
	return m->desc_size ? m->size / m->desc_size : 0;
}

/*
 * What the kernel may do with a range once boot services are gone:
 * boot-services and loader memory is free (UEFI 2.10 Table 7-6: usable after
 * ExitBootServices), ACPI reclaim after the tables are parsed, NVS never.
 * Runtime services, MMIO, PAL code, persistent and unaccepted memory, and
 * anything unknown stay out of the kernel's way.
 */
static UINT32 boot_type(const EFI_MEMORY_DESCRIPTOR *d)
{
	switch (d->Type) {
	case EfiConventionalMemory:
		if (d->Attribute & EFI_MEMORY_SP)
			return BOOT_MEM_RESERVED;
		return BOOT_MEM_USABLE;
	case EfiLoaderCode:
	case EfiLoaderData:
	case EfiBootServicesCode:
	case EfiBootServicesData:
		return BOOT_MEM_USABLE;
	case EfiACPIReclaimMemory:
		return BOOT_MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BOOT_MEM_ACPI_NVS;
	case EfiUnusableMemory:
		return BOOT_MEM_BAD;
	case (UINT32)VIGIL_KEEP_MEMORY_TYPE:
		return BOOT_MEM_KERNEL;
	default:
		return BOOT_MEM_RESERVED;
	}
}

EFI_STATUS memmap_prepare(struct efi_mmap *m)
{
	UINTN size = 0, key, dsize = 0;
	UINT32 dver;
	EFI_STATUS st;

	SetMem(m, sizeof(*m), 0);
	st = BS->GetMemoryMap(&size, NULL, &key, &dsize, &dver);
	if (st != EFI_BUFFER_TOO_SMALL) {
		log_error(L"GetMemoryMap does not report its size: %r", st);
		return EFI_ERROR(st) ? st : EFI_DEVICE_ERROR;
	}
	if (dsize < sizeof(EFI_MEMORY_DESCRIPTOR)) {
		log_error(L"GetMemoryMap descriptor size %ld is too small", (UINT64)dsize);
		return EFI_UNSUPPORTED;
	}
	m->desc_size = dsize;
	m->capacity = size + MMAP_SLACK_DESCS * dsize;
	m->scratch_cap = m->capacity / dsize;
	m->buf = AllocatePool(m->capacity);
	m->scratch = AllocatePool(m->scratch_cap * sizeof(*m->scratch));
	if (!m->buf || !m->scratch) {
		log_error(L"no memory for the memory map (%ld bytes)", (UINT64)m->capacity);
		memmap_release(m);
		return EFI_OUT_OF_RESOURCES;
	}
	return EFI_SUCCESS;
}

void memmap_release(struct efi_mmap *m)
{
	if (m->buf)
		FreePool(m->buf);
	if (m->scratch)
		FreePool(m->scratch);
	m->buf = NULL;
	m->scratch = NULL;
}

EFI_STATUS memmap_read(struct efi_mmap *m)
{
	m->size = m->capacity;
	return BS->GetMemoryMap(&m->size, m->buf, &m->key, &m->desc_size, &m->desc_version);
}

/*
 * Where the identity map must reach: the end of the highest range that holds
 * memory (RAM of any kind, ACPI, runtime services, the kernel's own pages).
 * MMIO and reserved windows are left out: on large machines they sit near the
 * top of the physical address space and would need gigabytes of page tables.
 * Everything below 4 GiB is mapped regardless (paging.c).
 */
UINT64 memmap_ram_top(const struct efi_mmap *m)
{
	UINT64 top = 0;
	UINTN i;

	for (i = 0; i < desc_count(m); i++) {
		const EFI_MEMORY_DESCRIPTOR *d = desc_at(m, i);
		UINT64 end = d->PhysicalStart + d->NumberOfPages * EFI_PAGE_BYTES;

		if (d->NumberOfPages == 0)
			continue;
		switch (boot_type(d)) {
		case BOOT_MEM_RESERVED:
			if (d->Type != EfiRuntimeServicesCode && d->Type != EfiRuntimeServicesData &&
			    d->Type != EFI_PERSISTENT_MEMORY && d->Type != EFI_UNACCEPTED_MEMORY)
				continue;
			break;
		case BOOT_MEM_BAD:
			continue;
		default:
			break;
		}
		if (end > top)
			top = end;
	}
	return top;
}

void memmap_to_boot_info(const struct efi_mmap *m, struct boot_info *bi)
{
	struct boot_mem_region *r = m->scratch, cur, *last;
	UINTN n = 0, i, j;

	/* 1. Translate, dropping empty descriptors. */
	for (i = 0; i < desc_count(m) && n < m->scratch_cap; i++) {
		const EFI_MEMORY_DESCRIPTOR *d = desc_at(m, i);

		if (d->NumberOfPages == 0)
			continue;
		r[n].base = d->PhysicalStart;
		r[n].length = d->NumberOfPages * EFI_PAGE_BYTES;
		r[n].type = boot_type(d);
		r[n].pad = 0;
		n++;
	}

	/* 2. Sort by base.  The firmware's map is usually sorted already, which
	 * is insertion sort's best case; at worst it is a few hundred entries. */
	for (i = 1; i < n; i++) {
		cur = r[i];
		for (j = i; j > 0 && r[j - 1].base > cur.base; j--)
			r[j] = r[j - 1];
		r[j] = cur;
	}

	/* 3. Merge touching ranges of one type; clip overlaps (which a correct
	 * firmware never reports) so the kernel's "non-overlapping" holds.  If
	 * more than BOOT_MMAP_MAX ranges remain, the highest ones are dropped:
	 * the kernel then merely does not use that memory. */
	bi->mmap_count = 0;
	for (i = 0; i < n; i++) {
		cur = r[i];
		last = bi->mmap_count ? &bi->mmap[bi->mmap_count - 1] : NULL;
		if (last && cur.base < last->base + last->length) {
			UINT64 last_end = last->base + last->length;

			if (cur.base + cur.length <= last_end)
				continue;
			cur.length -= last_end - cur.base;
			cur.base = last_end;
		}
		if (last && last->type == cur.type && last->base + last->length == cur.base) {
			last->length += cur.length;
			continue;
		}
		if (bi->mmap_count == BOOT_MMAP_MAX)
			break;
		bi->mmap[bi->mmap_count++] = cur;
	}
}

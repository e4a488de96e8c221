/*
 * Which usable RAM the kernel leaves to the firmware across S3.
 *
 * ACPI 6.5 chapter 15 (address range types) and UEFI 2.10 7.2 (memory type
 * usage after ExitBootServices): across a sleep the firmware may use only
 * memory it reported as reserved or ACPI NVS ("saved across an NVS sleep");
 * memory reported usable is the OS's.  OVMF breaks that.  Its reset vector
 * and SEC run from a fixed scratch area at 8 MiB (OvmfPkg's FDF "MEMFD": SEC
 * page tables, the S3 lock box, the confidential-computing work area, SEC/PEI
 * temporary RAM) on every reset, the S3 resume included.  It reports the
 * pieces it knows S3 needs as ACPI NVS but, in the build we met (Debian
 * 2022.11), not the work area: the map says 0x808000-0x80ffff is usable,
 * between two NVS ranges, and every resume zeroes byte 0 and the dword at
 * offset 4 of 0x808000 -- the work area header's guest type and the SEV
 * status the reset vector records for a guest that is not an SEV guest.
 * Whatever the kernel kept there was corrupted (a task's stack).  Later
 * OVMF releases reserve the work area as ACPI NVS when S3 is supported,
 * their PlatformPei saying why (the reset vector uses it on S3 resume);
 * older ones reserved it only as boot-services data, usable once the OS runs.
 *
 * The rule: a usable range of at most FIRMWARE_SCRATCH_MAX that touches
 * ACPI NVS on both sides is firmware scratch and stays out of the allocator.
 * Why this rule and not an OVMF address: it needs no firmware
 * identification, it costs little (such holes are a few pages; OVMF's is 32
 * KiB), and NVS ranges cut by a small usable gap are the sign of a range the
 * firmware forgot to reserve, not of RAM it meant to give away.  Preserving
 * the range across the sleep instead (copy out, copy back) would keep kernel
 * data safe too, but it would have to happen after the firmware ran, in the
 * wake path, with the firmware's own data then overwritten by ours.  The
 * page hash (`suspend s3 hash=all`, include/vigil/page_snapshot.h) shows that
 * with this rule no page the kernel owns, and no free page, changes over an
 * OVMF resume.
 */
#include <vigil/firmware_scratch.h>

bool firmware_scratch_range(const struct boot_mem_region *map, unsigned n, unsigned i, const char **why)
{
	if (i >= n || map[i].type != BOOT_MEM_USABLE || !map[i].length || map[i].length > FIRMWARE_SCRATCH_MAX)
		return false;
	uint64_t base = map[i].base, end = map[i].base + map[i].length;
	bool nvs_below = false, nvs_above = false;
	for (unsigned j = 0; j < n; j++) {
		if (map[j].type != BOOT_MEM_ACPI_NVS)
			continue;
		if (map[j].base + map[j].length == base)
			nvs_below = true;
		if (map[j].base == end)
			nvs_above = true;
	}
	if (!nvs_below || !nvs_above)
		return false;
	*why = "usable RAM between two ACPI NVS ranges: firmware scratch (OVMF writes its work area there on S3 resume)";
	return true;
}

/*
 * Finding QEMU's CPU-hotplug register block in the DSDT without an AML
 * interpreter.
 *
 * QEMU's DSDT declares the block as an operation region in system I/O
 * space (docs/specs/acpi_cpu_hotplug.rst in the QEMU tree; the GPE.2
 * handler's methods reach the registers through it):
 *
 *     OperationRegion (PRST, SystemIO, 0x0CD8, 0x0C)
 *
 * which is encoded (ACPI 6.5 20.2.5.2 DefOpRegion) as
 *
 *   5B 80 ['\'] 'P' 'R' 'S' 'T'  ExtOpPrefix OpRegionOp, NameString
 *   01                           RegionSpace: SystemIO (Table 5.30)
 *   <integer> <integer>          RegionOffset, RegionLen (20.2.3)
 *
 * The modern interface is 12 bytes long (ACPI_CPU_HOTPLUG_REG_LEN); the
 * legacy PIIX one has the same name and a 32-byte present-CPU bitmap, which
 * vigil does not drive, so any other length is reported and not used.
 * Every read is bounded by the AML length.
 */
#include <stdarg.h>
#include <vigil/string.h>

#include "acpi_internal.h"

#define AML_EXT_PFX     0x5B
#define AML_OPREGION_OP 0x80
#define AML_ROOT_CHAR   0x5C   /* '\' */
#define AML_ZERO_OP     0x00
#define AML_ONE_OP      0x01
#define AML_BYTE_PFX    0x0A
#define AML_WORD_PFX    0x0B
#define AML_DWORD_PFX   0x0C
#define AML_QWORD_PFX   0x0E
#define REGION_SYSTEM_IO 0x01

/* A RegionOffset / RegionLen that is a constant integer; 0 on success. */
static int integer(const uint8_t *aml, size_t len, size_t *pos, uint64_t *val)
{
	size_t p = *pos, size;

	if (p >= len)
		return -1;
	switch (aml[p]) {
	case AML_ZERO_OP: *val = 0; *pos = p + 1; return 0;
	case AML_ONE_OP:  *val = 1; *pos = p + 1; return 0;
	case AML_BYTE_PFX:  size = 1; break;
	case AML_WORD_PFX:  size = 2; break;
	case AML_DWORD_PFX: size = 4; break;
	case AML_QWORD_PFX: size = 8; break;
	default: return -1;   /* a computed offset: not QEMU's */
	}
	if (p + 1 + size > len)
		return -1;
	*val = 0;
	for (size_t i = 0; i < size; i++)
		*val |= (uint64_t)aml[p + 1 + i] << (8 * i);
	*pos = p + 1 + size;
	return 0;
}

int acpi_aml_cpuhp_scan(const uint8_t *aml, size_t len, size_t base, uint16_t *port, char *msg,
			size_t msglen)
{
	if (msg && msglen)
		msg[0] = '\0';
	*port = 0;
	if (!aml)
		return 0;
	for (size_t i = 0; i + 2 < len; i++) {
		size_t j = i + 2;
		uint64_t off, rlen;

		if (aml[i] != AML_EXT_PFX || aml[i + 1] != AML_OPREGION_OP)
			continue;
		if (j < len && aml[j] == AML_ROOT_CHAR)
			j++;
		if (j + 4 > len || memcmp(aml + j, "PRST", 4) != 0)
			continue;
		j += 4;
		if (j >= len || aml[j] != REGION_SYSTEM_IO) {
			if (msg && msglen)
				snprintf(msg, msglen, "PRST region at offset %llu is not in system I/O space",
					 (unsigned long long)(base + i));
			return ACPI_EMALFORMED;
		}
		j++;
		if (integer(aml, len, &j, &off) || integer(aml, len, &j, &rlen)) {
			if (msg && msglen)
				snprintf(msg, msglen, "PRST region at offset %llu has no constant address and length",
					 (unsigned long long)(base + i));
			return ACPI_EMALFORMED;
		}
		if (rlen != ACPI_CPUHP_REG_LEN || off == 0 || off + rlen > 0x10000) {
			if (msg && msglen)
				snprintf(msg, msglen,
					 "PRST region at offset %llu (port 0x%llx, %llu bytes) is not the %u-byte CPU hotplug block",
					 (unsigned long long)(base + i), (unsigned long long)off,
					 (unsigned long long)rlen, ACPI_CPUHP_REG_LEN);
			return ACPI_EMALFORMED;
		}
		*port = (uint16_t)off;
		return 1;
	}
	return 0;
}

int acpi_aml_find_cpu_hotplug(const uint8_t *aml, size_t len, uint16_t *port, char *err, size_t errlen)
{
	return acpi_aml_cpuhp_scan(aml, len, 0, port, err, errlen);
}

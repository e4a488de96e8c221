/*
 * Finding a \_Sx sleep-type package in AML without an interpreter.
 *
 * Firmware declares the sleep types as a named package (ACPI 6.5 7.4.2,
 * "\_Sx (System States)"):  Name (_S5, Package () { SLP_TYPa, SLP_TYPb, ...})
 * which the compiler emits as (20.2.5.1 NameOp, 20.2.5.4 DefPackage):
 *
 *   08 ['\'] '_' 'S' '5' '_'   NameOp, optional RootChar, NameSeg
 *   12 PkgLength NumElements    PackageOp
 *   <element> <element> ...     integers (20.2.3 Data Objects)
 *
 * Like most small kernels we scan the bytes for that shape and decode the
 * first two elements.  Every read is bounded by the AML length and the
 * package length, so truncated or hostile AML yields an error, never an
 * out-of-bounds read.  Names defined inside methods or conditionals are
 * found too if they have this shape; the first one wins.
 */
#include <stdarg.h>
#include <vigil/string.h>

#include "acpi_internal.h"

#define AML_ZERO_OP    0x00
#define AML_ONE_OP     0x01
#define AML_NAME_OP    0x08
#define AML_BYTE_PFX   0x0A
#define AML_WORD_PFX   0x0B
#define AML_DWORD_PFX  0x0C
#define AML_QWORD_PFX  0x0E
#define AML_PACKAGE_OP 0x12
#define AML_ONES_OP    0xFF
#define AML_ROOT_CHAR  0x5C   /* '\' */

/* SLP_TYPx is a 3-bit field of PM1x_CNT (4.8.3.2.1, bits 10-12). */
#define SLP_TYP_MAX    7

struct scan {
	const uint8_t *aml;
	size_t len;
	size_t base;          /* added to offsets in messages */
	const char *name;
	size_t pkg;           /* offset of the PackageOp */
	char *msg;
	size_t msglen;
};

__printf(3, 4) static int fail(struct scan *s, int code, const char *fmt, ...)
{
	char detail[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (s->msg && s->msglen)
		snprintf(s->msg, s->msglen, "%.4s package at offset %llu %s", s->name,
			 (unsigned long long)(s->base + s->pkg), detail);
	return code;
}

/*
 * PkgLength (20.2.4): bits 7-6 of the lead byte give the number of bytes
 * that follow (0-3).  With none, bits 5-0 are the length; otherwise bits 3-0
 * are its low nibble and each following byte adds 8 more bits.  The length
 * counts from the lead byte to the end of the package.
 */
static int pkg_length(struct scan *s, size_t pos, size_t *value, size_t *nbytes)
{
	uint8_t lead;
	size_t n, v;

	if (pos >= s->len)
		return fail(s, ACPI_ELENGTH, "truncated before its length");
	lead = s->aml[pos];
	n = lead >> 6;
	if (pos + 1 + n > s->len)
		return fail(s, ACPI_ELENGTH, "truncated inside its length");
	if (n == 0) {
		v = lead & 0x3F;
	} else {
		v = lead & 0x0F;
		for (size_t i = 1; i <= n; i++)
			v |= (size_t)s->aml[pos + i] << (4 + 8 * (i - 1));
	}
	*value = v;
	*nbytes = 1 + n;
	return 0;
}

/*
 * One integer element at *pos, before end (the package end).  Accepts
 * ZeroOp, OneOp, OnesOp and the Byte/Word/DWord/QWord prefixes, plus a bare
 * byte 2..7: not valid AML, but some hand-written tables use it and the
 * traditional scanners accept it.
 */
static int element(struct scan *s, size_t *pos, size_t end, unsigned idx, uint64_t *val)
{
	size_t p = *pos, size;
	uint8_t op;

	/* end <= s->len was checked by the caller: running past end is a
	 * package too short for its NumElements, not truncated AML. */
	if (p >= end)
		return fail(s, ACPI_EMALFORMED, "ends before element %u", idx);
	op = s->aml[p];
	switch (op) {
	case AML_ZERO_OP:   *val = 0;          *pos = p + 1; return 0;
	case AML_ONE_OP:    *val = 1;          *pos = p + 1; return 0;
	case AML_ONES_OP:   *val = UINT64_MAX; *pos = p + 1; return 0;
	case AML_BYTE_PFX:  size = 1; break;
	case AML_WORD_PFX:  size = 2; break;
	case AML_DWORD_PFX: size = 4; break;
	case AML_QWORD_PFX: size = 8; break;
	default:
		if (op <= SLP_TYP_MAX) {
			*val = op;
			*pos = p + 1;
			return 0;
		}
		return fail(s, ACPI_EMALFORMED, "element %u has unsupported encoding 0x%02x", idx,
			    op);
	}
	if (p + 1 + size > end)
		return fail(s, ACPI_EMALFORMED, "element %u runs past the package end", idx);
	*val = 0;
	for (size_t i = 0; i < size; i++)
		*val |= (uint64_t)s->aml[p + 1 + i] << (8 * i);
	*pos = p + 1 + size;
	return 0;
}

/* Decode the package whose PackageOp is at s->pkg. */
static int decode(struct scan *s, struct acpi_sleep_type *st)
{
	size_t pkglen = 0, nbytes = 0, end, pos;
	uint64_t a = 0, b = 0;
	unsigned count;
	int rc;

	rc = pkg_length(s, s->pkg + 1, &pkglen, &nbytes);
	if (rc)
		return rc;
	end = s->pkg + 1 + pkglen;
	if (end > s->len)
		return fail(s, ACPI_ELENGTH, "truncated (needs %llu bytes, %llu left)",
			    (unsigned long long)pkglen, (unsigned long long)(s->len - s->pkg - 1));
	if (pkglen < nbytes + 1)
		return fail(s, ACPI_EMALFORMED, "has length %llu, too small",
			    (unsigned long long)pkglen);
	pos = s->pkg + 1 + nbytes;
	count = s->aml[pos++];
	if (count == 0)
		return fail(s, ACPI_EMALFORMED, "is empty");

	rc = element(s, &pos, end, 0, &a);
	if (rc)
		return rc;
	if (count >= 2) {
		rc = element(s, &pos, end, 1, &b);
		if (rc)
			return rc;
	} else {
		/* ACPI 1.0-era single integer: SLP_TYPa in bits 7-0, SLP_TYPb
		 * in bits 15-8 (what ACPICA accepts too). */
		b = a >> 8;
		a &= 0xFF;
	}
	if (a > SLP_TYP_MAX || b > SLP_TYP_MAX)
		return fail(s, ACPI_EMALFORMED, "has SLP_TYP values 0x%llx/0x%llx, wider than 3 bits",
			    (unsigned long long)a, (unsigned long long)b);
	st->valid = true;
	st->slp_typa = (uint8_t)a;
	st->slp_typb = (uint8_t)b;
	return 0;
}

int acpi_aml_sleep_scan(const uint8_t *aml, size_t len, const char name[4], size_t base,
			struct acpi_sleep_type *st, char *msg, size_t msglen)
{
	struct scan s = { .aml = aml, .len = len, .base = base, .name = name,
			  .msg = msg, .msglen = msglen };

	memset(st, 0, sizeof(*st));
	if (msg && msglen)
		msg[0] = '\0';
	if (!aml)
		return 0;
	for (size_t i = 0; i + 5 <= len; i++) {
		size_t j = i + 1;
		int rc;

		if (aml[i] != AML_NAME_OP)
			continue;
		if (aml[j] == AML_ROOT_CHAR)
			j++;
		if (j + 4 > len || memcmp(aml + j, name, 4) != 0)
			continue;
		j += 4;
		s.pkg = j;
		if (j >= len)
			return fail(&s, ACPI_ELENGTH, "truncated before its PackageOp");
		if (aml[j] != AML_PACKAGE_OP)
			continue;	/* Name(_Sx_, <not a package>): not ours */
		rc = decode(&s, st);
		return rc ? rc : 1;
	}
	return 0;
}

int acpi_aml_find_sleep_type(const uint8_t *aml, size_t len, const char name[4],
			     struct acpi_sleep_type *st, char *err, size_t errlen)
{
	return acpi_aml_sleep_scan(aml, len, name, 0, st, err, errlen);
}

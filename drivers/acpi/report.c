/*
 * Faults and warnings.  The parser reports every problem as one line naming
 * the table and the fault ("MADT: checksum mismatch (sum 0x3c)"); whether a
 * fault stops the parse or only becomes a warning is decided by the caller
 * (the error policy is in include/vigil/acpi.h, above acpi_parse()).
 */
#include <stdarg.h>
#include <vigil/string.h>

#include "acpi_internal.h"

int acpi_faultf(struct acpi_ctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->fault, sizeof(c->fault), fmt, ap);
	va_end(ap);
	return code;
}

int acpi_fatal(struct acpi_ctx *c, int code)
{
	if (c->err && c->errlen) {
		size_t n = strlen(c->fault);

		if (n >= c->errlen)
			n = c->errlen - 1;
		memcpy(c->err, c->fault, n);
		c->err[n] = '\0';
	}
	return code;
}

static void add_warning(struct acpi_info *out, const char *fmt, va_list ap)
{
	if (out->nr_warnings >= ACPI_MAX_WARNINGS) {
		out->warnings_lost++;
		return;
	}
	vsnprintf(out->warnings[out->nr_warnings], ACPI_WARNING_LEN, fmt, ap);
	out->nr_warnings++;
}

/* A va_list-taking wrapper so both entry points share add_warning(). */
static void add_warningf(struct acpi_info *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_warning(out, fmt, ap);
	va_end(ap);
}

void acpi_fault_to_warning(struct acpi_ctx *c)
{
	add_warningf(c->out, "%s", c->fault);
}

void acpi_warn(struct acpi_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_warning(c->out, fmt, ap);
	va_end(ap);
}

const char *acpi_strerror(int err)
{
	switch (err) {
	case ACPI_OK:         return "success";
	case ACPI_ENOTFOUND:  return "not found";
	case ACPI_EMAP:       return "cannot map";
	case ACPI_ESIGNATURE: return "bad signature";
	case ACPI_ECHECKSUM:  return "checksum mismatch";
	case ACPI_ELENGTH:    return "bad length";
	case ACPI_EMALFORMED: return "malformed";
	case ACPI_EDUPLICATE: return "duplicate APIC ID";
	case ACPI_EINVAL:     return "invalid argument";
	default:              return "unknown error";
	}
}

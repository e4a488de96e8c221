/* why_fail(): the message and the cause of a refusal (include/vigil/why.h). */
#include <stdarg.h>
#include <vigil/string.h>
#include <vigil/why.h>

int why_fail(char *why, size_t len, enum why_cause cause, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -(int)cause;
}

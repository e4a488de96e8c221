/* Runs the registered invariant checkers (see include/vigil/check.h). */
#include <vigil/check.h>
#include <vigil/string.h>

extern const struct invariant __start_invariants[], __stop_invariants[];

int invariants_check(char *why, size_t len)
{
	for (const struct invariant *inv = __start_invariants; inv < __stop_invariants; inv++) {
		char reason[128] = "";
		if (inv->check(reason, sizeof(reason)) != 0) {
			snprintf(why, len, "%s: %s", inv->name, reason);
			return -1;
		}
	}
	return 0;
}

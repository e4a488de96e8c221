/* Runs the registered invariant checkers (see include/vigil/check.h). */
#include <vigil/check.h>
#include <vigil/string.h>

extern const struct invariant __start_invariants[], __stop_invariants[];

int invariants_check_noted(char *why, size_t len, void (*note)(const char *name, const char *what, void *arg),
			   void *arg)
{
	for (const struct invariant *inv = __start_invariants; inv < __stop_invariants; inv++) {
		char reason[128] = "";
		int r = inv->check(reason, sizeof(reason));
		if (r > 0 && note)
			note(inv->name, reason, arg);
		if (r < 0) {
			snprintf(why, len, "%s: %s", inv->name, reason);
			return -1;
		}
	}
	return 0;
}

int invariants_check(char *why, size_t len)
{
	return invariants_check_noted(why, len, NULL, NULL);
}

/* Runs the registered invariant checkers (see include/vigil/check.h). */
#include <vigil/check.h>
#include <vigil/mutex.h>
#include <vigil/string.h>

extern const struct invariant __start_invariants[], __stop_invariants[];

/* One check at a time (the console, stress and the self-tests all run
 * them).  Checkers may therefore keep their working buffers in static
 * storage instead of allocating them: `check` must answer when memory is
 * full -- stress fills it on purpose -- and a per-CPU array is too big for a
 * task stack.  Taken before any lock a checker takes (cpus_read_lock,
 * usage_lock): see docs/locking.md. */
static DEFINE_MUTEX(check_lock);

int invariants_check_noted(char *why, size_t len, void (*note)(const char *name, const char *what, void *arg),
			   void *arg)
{
	int ret = 0;
	mutex_lock(&check_lock);
	for (const struct invariant *inv = __start_invariants; inv < __stop_invariants; inv++) {
		char reason[128] = "";
		int r = inv->check(reason, sizeof(reason));
		if (r > 0 && note)
			note(inv->name, reason, arg);
		if (r < 0) {
			snprintf(why, len, "%s: %s", inv->name, reason);
			ret = -1;
			break;
		}
	}
	mutex_unlock(&check_lock);
	return ret;
}

int invariants_check(char *why, size_t len)
{
	return invariants_check_noted(why, len, NULL, NULL);
}

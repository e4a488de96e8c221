/* The emergency callback table (include/vigil/emergency.h). */
#include <vigil/arch.h>
#include <vigil/emergency.h>
#include <vigil/mutex.h>

static emergency_fn slots[EMERGENCY_MAX_CALLBACKS];
/* Walks under way on any CPU (NMI context increments it too). */
static unsigned long walkers;
/* Serializes registrations against each other only; walks ignore it. */
static DEFINE_MUTEX(emergency_mutex);

int register_emergency_callback(emergency_fn fn)
{
	int r = -1;
	mutex_lock(&emergency_mutex);
	int free_slot = -1;
	bool present = false;
	for (int i = 0; i < EMERGENCY_MAX_CALLBACKS; i++) {
		emergency_fn s = __atomic_load_n(&slots[i], __ATOMIC_RELAXED);
		present |= s == fn;
		if (!s && free_slot < 0)
			free_slot = i;
	}
	if (!present && free_slot >= 0) {
		/* Release: whatever fn reads was set up before it is seen. */
		__atomic_store_n(&slots[free_slot], fn, __ATOMIC_RELEASE);
		r = 0;
	}
	mutex_unlock(&emergency_mutex);
	return r;
}

void unregister_emergency_callback(emergency_fn fn)
{
	mutex_lock(&emergency_mutex);
	for (int i = 0; i < EMERGENCY_MAX_CALLBACKS; i++)
		if (__atomic_load_n(&slots[i], __ATOMIC_RELAXED) == fn)
			__atomic_store_n(&slots[i], NULL, __ATOMIC_SEQ_CST);
	/* A walk that loaded fn before the store may still be calling it:
	 * wait them out (a grace period, RCU-style). */
	while (__atomic_load_n(&walkers, __ATOMIC_SEQ_CST))
		arch_cpu_relax();
	mutex_unlock(&emergency_mutex);
}

int emergency_callbacks_run(void)
{
	__atomic_add_fetch(&walkers, 1, __ATOMIC_SEQ_CST);
	int worst = -1;
	for (int i = 0; i < EMERGENCY_MAX_CALLBACKS; i++) {
		/* Seq-cst, pairing with unregister's seq-cst store then load of
		 * walkers (a store-buffering pattern): an acquire load could see
		 * the old pointer while unregister reads walkers == 0. */
		emergency_fn fn = __atomic_load_n(&slots[i], __ATOMIC_SEQ_CST);
		if (!fn)
			continue;
		int v = fn();
		if (v > worst)
			worst = v;
	}
	__atomic_sub_fetch(&walkers, 1, __ATOMIC_SEQ_CST);
	return worst;
}

/*
 * Lock classes.  A class is identified by an address: a subkey of the static
 * struct lock_class_key declared at the lock's init site (so every lock
 * initialized there is one class), or, for a statically defined lock that
 * has no key, the address of its own lockdep_map.  Registration happens on
 * the first acquisition; the map caches its subclass-0 class so later
 * acquisitions of the same lock skip the lookup.
 *
 * Lookup goes through an open-addressing hash of identity -> class index.
 * Slots are filled once and never change, and are published with release
 * stores after the class entry is complete, so lookups take no lock.
 */
#include <vigil/atomic.h>
#include <vigil/lockdep.h>
#include <vigil/printk.h>

#include "lockdep_internal.h"

#define HASH_SIZE (2 * LOCKDEP_MAX_CLASSES)   /* power of two, half full at most */

struct lock_class lockdep_classes[LOCKDEP_MAX_CLASSES];
static unsigned nr_classes;

static struct {
	const void *key;    /* published last (release) */
	uint16_t idx;
} hash[HASH_SIZE];

static unsigned hash_slot(const void *key)
{
	uintptr_t k = (uintptr_t)key;

	k ^= k >> 17;
	k *= 0x9e3779b97f4a7c15ull;
	return (unsigned)(k >> 40) & (HASH_SIZE - 1);
}

static int lookup(const void *key)
{
	for (unsigned i = hash_slot(key), n = 0; n < HASH_SIZE; i = (i + 1) & (HASH_SIZE - 1), n++) {
		const void *k = __atomic_load_n(&hash[i].key, __ATOMIC_ACQUIRE);

		if (!k)
			return -1;
		if (k == key)
			return hash[i].idx;
	}
	return -1;
}

static const void *identity(const struct lockdep_map *map, unsigned subclass)
{
	if (map->key)
		return &map->key->subkeys[subclass];
	/* A static lock: its map is its key.  The map is bigger than
	 * LOCKDEP_MAX_SUBCLASSES bytes, so the identities stay distinct. */
	return (const char *)map + subclass;
}

/* Under graph_lock. */
static int register_class(const struct lockdep_map *map, const void *key, unsigned subclass)
{
	int idx = lookup(key);

	if (idx >= 0)
		return idx;   /* another CPU registered it meanwhile */
	if (nr_classes >= LOCKDEP_MAX_CLASSES) {
		lockdep_turn_off("too many lock classes (LOCKDEP_MAX_CLASSES)");
		return -1;
	}
	idx = (int)nr_classes;
	struct lock_class *c = &lockdep_classes[idx];
	c->key = key;
	c->name = map->name ? map->name : "(unnamed)";
	c->subclass = subclass;
	c->first_out = 0;
	c->recursion_reported = false;
	__atomic_store_n(&nr_classes, nr_classes + 1, __ATOMIC_RELEASE);

	unsigned i = hash_slot(key);
	while (hash[i].key)
		i = (i + 1) & (HASH_SIZE - 1);
	hash[i].idx = (uint16_t)idx;
	__atomic_store_n(&hash[i].key, key, __ATOMIC_RELEASE);
	return idx;
}

int lockdep_class_of(struct lockdep_map *map, unsigned subclass)
{
	if (subclass >= LOCKDEP_MAX_SUBCLASSES)
		subclass = LOCKDEP_MAX_SUBCLASSES - 1;
	if (subclass == 0) {
		uint16_t c = __atomic_load_n(&map->class_cache, __ATOMIC_ACQUIRE);
		if (c)
			return c - 1;
	}
	const void *key = identity(map, subclass);
	int idx = lookup(key);
	if (idx < 0) {
		unsigned long flags = lockdep_graph_lock();
		idx = register_class(map, key, subclass);
		lockdep_graph_unlock(flags);
		if (idx < 0)
			return -1;
	}
	if (subclass == 0)
		__atomic_store_n(&map->class_cache, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
	return idx;
}

unsigned lockdep_nr_classes(void)
{
	return __atomic_load_n(&nr_classes, __ATOMIC_ACQUIRE);
}

const char *lockdep_class_name(unsigned idx)
{
	return lockdep_classes[idx].name;
}

void lockdep_init_map(struct lockdep_map *map, const char *name, const struct lock_class_key *key)
{
	map->key = key;
	map->name = name;
	__atomic_store_n(&map->class_cache, 0, __ATOMIC_RELAXED);
}

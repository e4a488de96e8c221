/*
 * Self-test: memory slots on the kernel's own page allocator.  A slot pair
 * takes MEMSLOT_MAX slots and refuses one more; split, merge, resize and
 * move keep the bytes written through the slots; only in-place changes
 * want inhibition; every frame goes back at the end.  With a virtualization
 * backend, a VM's slot 0 is its guest memory (the same pages), and a
 * destroyed VM's slots are gone (no such VM).
 */
#include <vigil/memslot.h>
#include <vigil/mm.h>
#include <vigil/selftest.h>
#include <vigil/string.h>
#include <vigil/virt.h>
#include "virt_internal.h"

static int apply(struct memslot_pair *p, struct memslot_txn_result *res, char *why, size_t len, const char *text)
{
	char buf[128];
	char *argv[24];
	int argc = 0;
	strlcpy(buf, text, sizeof(buf));
	for (char *w = buf; *w;) {
		while (*w == ' ')
			*w++ = 0;
		if (!*w)
			break;
		argv[argc++] = w;
		while (*w && *w != ' ')
			w++;
	}
	struct memslot_txn t;
	int r = memslot_parse_txn(argc, argv, &t, why, len);
	return r ? r : memslot_pair_update(p, &t, res, why, len);
}

static uint64_t word(uint64_t gpa)
{
	return gpa * 0x9E3779B97F4A7C15ull + 1;
}

static int core_test(struct selftest_ctx *ctx, struct memslot_pair *p, char *why)
{
	struct memslot_txn_result res;
	char text[64];
	for (unsigned i = 0; i < MEMSLOT_MAX; i++) {
		snprintf(text, sizeof(text), "add gpa=0x%x size=0x1000", 0x100000 + i * 0x2000);
		ST_ASSERT(ctx, apply(p, &res, why, WHY_MAX, text) == 0, "slot %u: %s", i, why);
		ST_ASSERT(ctx, !res.inhibit, "an unrelated add wants inhibition");
	}
	int r = apply(p, &res, why, WHY_MAX, "add gpa=0 size=0x1000");
	ST_ASSERT(ctx, why_cause(r) == WHY_TOO_MANY, "slot %u: cause %d (%s), expected too many", MEMSLOT_MAX,
		  why_cause(r), why);
	ST_ASSERT(ctx, memslot_pair_active(p)->nr == MEMSLOT_MAX, "the refusal changed the set");
	for (unsigned i = 2; i < MEMSLOT_MAX; i++) {
		snprintf(text, sizeof(text), "del %u", i);
		ST_ASSERT(ctx, apply(p, &res, why, WHY_MAX, text) == 0, "del %u: %s", i, why);
		ST_ASSERT(ctx, !res.inhibit, "an unrelated delete wants inhibition");
	}
	/* slots 0 [0x100000, +4K) and 1 [0x102000, +4K): grow 0 to 8 pages
	 * after moving 1 away, fill it, then reshape it every way. */
	ST_ASSERT(ctx, apply(p, &res, why, WHY_MAX, "move 1 gpa=0x200000 ; resize 0 size=0x8000") == 0, "%s", why);
	const struct memslot_set *set = memslot_pair_active(p);
	for (uint64_t o = 0; o < 0x8000; o += 8) {
		uint64_t v = word(o);
		ST_ASSERT(ctx, memslot_write(set, 0x100000 + o, &v, 8, false, why, WHY_MAX) == 0, "%s", why);
	}
	uint64_t frames = memslot_frames_live();
	static const char *const steps[] = {
		"split 0 at=0x103000", "move 2 gpa=0x400000", "move 2 gpa=0x103000", "merge 0 2",
		"split 0 at=0x101000 ; merge 2 0",
	};
	for (unsigned s = 0; s < ARRAY_SIZE(steps); s++) {
		ST_ASSERT(ctx, apply(p, &res, why, WHY_MAX, steps[s]) == 0, "%s: %s", steps[s], why);
		ST_ASSERT(ctx, memslot_frames_live() == frames, "%s allocated or freed frames", steps[s]);
		set = memslot_pair_active(p);
		uint64_t base = s == 1 ? 0x400000 - 0x3000 : 0x100000;
		for (uint64_t o = 0; o < 0x8000; o += 8) {
			uint64_t v = 0, gpa = (s == 1 && o < 0x3000) ? 0x100000 + o : base + o;
			ST_ASSERT(ctx, memslot_read(set, gpa, &v, 8, why, WHY_MAX) == 0, "%s: %s", steps[s], why);
			ST_ASSERT(ctx, v == word(o), "after %s: gpa 0x%lx holds 0x%lx, expected 0x%lx", steps[s],
				  (unsigned long)gpa, (unsigned long)v, (unsigned long)word(o));
		}
		ST_ASSERT(ctx, res.inhibit == (s != 1 && s != 2), 
			  "%s: inhibit=%d", steps[s], res.inhibit);
	}
	ST_ASSERT(ctx, apply(p, &res, why, WHY_MAX, "resize 2 size=0x2000") == 0 && res.inhibit, "shrink: %s", why);
	ST_ASSERT(ctx, memslot_frames_live() == frames - 6, "shrinking by 6 pages left %lu of %lu frames",
		  (unsigned long)memslot_frames_live(), (unsigned long)frames);
	return 0;
}

static int vm_test(struct selftest_ctx *ctx, char *why)
{
	unsigned id;
	if (vm_create(&id, why, WHY_MAX) != 0)
		return st_skip(ctx, "no VM: %s", why);
	int fail = 0;
	uint64_t v = 0x5a5a0001c0ffee00ull, back = 0;
	if (vm_mem_access(id, 0x800, &v, 8, true, why, WHY_MAX) != 0 ||
	    vm_mem_access(id, 0x800, &back, 8, false, why, WHY_MAX) != 0)
		fail = st_fail(ctx, "vm mem on slot 0: %s", why);
	else if (back != v)
		fail = st_fail(ctx, "slot 0 read back 0x%lx", (unsigned long)back);
	struct memslot_txn t = { .n = 1, .c = { { .op = MEMSLOT_ADD, .gpa = 0x100000, .size = 0x1000 } } };
	if (!fail && vm_slot_update(id, &t, NULL, why, WHY_MAX) != 0)
		fail = st_fail(ctx, "add: %s", why);
	char dwhy[WHY_MAX];
	if (vm_destroy(id, dwhy, sizeof(dwhy)) != 0 && !fail)
		fail = st_fail(ctx, "vm destroy: %s", dwhy);
	if (!fail && why_cause(vm_slot_update(id, &t, NULL, why, WHY_MAX)) != WHY_NO_VM)
		fail = st_fail(ctx, "slot update on a destroyed VM: %s", why);
	return fail;
}

static int test_memslot(struct selftest_ctx *ctx)
{
	char *why = kmalloc(WHY_MAX);
	struct memslot_pair *p = kzalloc(sizeof(*p));
	ST_ASSERT(ctx, why && p, "out of memory");
	uint64_t frames0 = memslot_frames_live();
	int r = memslot_pair_init(p, MEMSLOT_GPA_BITS_MIN, why, WHY_MAX);
	if (r == 0) {
		r = core_test(ctx, p, why);
		memslot_pair_destroy(p);
		if (!r && memslot_frames_live() != frames0)
			r = st_fail(ctx, "%lu frames not freed", (unsigned long)(memslot_frames_live() - frames0));
	} else {
		r = st_fail(ctx, "%s", why);
	}
	if (!r)
		r = vm_test(ctx, why);
	kfree(p);
	kfree(why);
	return r;
}
SELFTEST(memslot, test_memslot);

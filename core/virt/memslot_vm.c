/*
 * A VM's memory slots: its slot-set pair, the slots lock every updater
 * holds, and the way the console finds them by VM id.
 *
 * vm_create builds the pair with the VM's existing guest memory as slot 0:
 * its pages are borrowed (the VM frees them itself), so `vm mem` reads the
 * guest's code and data there.  The backends map nothing up front: nested
 * page faults map from the active set, read inside the VM's SRCU domain,
 * and every update zaps what it removed (docs/design.md, "Guest memory on
 * demand").
 *
 * Lifetime: a lookup finds the VM under vm_list_lock and takes a use of its
 * slots; vm_destroy unlinks the VM first, so no new use can start, then
 * vm_memslots_free waits for the uses under way before freeing anything.
 */
#include <vigil/cmdline.h>
#include <vigil/completion.h>
#include <vigil/memslot.h>
#include <vigil/mm.h>
#include <vigil/mmu_invalidate.h>
#include <vigil/mutex.h>
#include <vigil/spinlock.h>
#include <vigil/srcu.h>
#include <vigil/string.h>
#include <vigil/vcpu.h>
#include <vigil/virt.h>
#include <vigil/vm_gate.h>
#include "virt_internal.h"

struct vm_memslots {
	struct mutex lock;         /* the slots lock: one updater at a time */
	struct memslot_pair pair;
	unsigned users;            /* lookups under way (under uses_lock) */
	uint64_t zaps;             /* slot ranges dropped from the nested page tables */
	bool waiting;              /* vm_memslots_free waits for users == 0 */
	struct completion unused;
	struct vm *vm;
	/* vm_slot_set_hooks: a test's own wait and inhibition, in place of
	 * the grace period (NULL: the grace period alone). */
	void (*user_wait)(void *arg);
	void (*user_inhibit)(void *arg, bool on);
	void *user_arg;
	/* Host invalidations of its guest memory (`vm mem migrate|reclaim`,
	 * docs/invalidation.md).  mmu_lock is taken before the backend's
	 * nested-page-table lock, never after: start zaps under it, the fault
	 * path checks for a retry and maps under both. */
	struct mmu_invalidate mi;
	spinlock_t mmu_lock;
	char name[16];
};

static DEFINE_SPINLOCK(uses_lock);

/* vCPUs read a VM's active set inside read sections of this domain
 * (vm_slots_read_lock: the nested page fault path); an update's wait for
 * readers is a grace period of it.  One domain for every VM, not one each:
 * a domain's per-CPU counters are sized for CONFIG_MAX_CPUS (32 KiB), more
 * than the rest of a small VM, and a fault handler's read section is
 * short (a lookup and one page-table entry), so an update that also waits
 * for other VMs' faults waits little longer. */
DEFINE_STATIC_SRCU(vm_slots_srcu);

/* memslot_update=naive: every VM publishes its slot changes as deletes then
 * adds, without inhibition (memslot_pair.c), so a test can show the gap. */
BOOT_PARAM_CHOICE(memslot_update, "atomic|naive");

static bool naive_updates(void)
{
	return !strcmp(boot_params()->memslot_update, "naive");
}

static unsigned clamp_bits(unsigned bits)
{
	return MIN(MAX(bits, MEMSLOT_GPA_BITS_MIN), MEMSLOT_GPA_BITS_MAX);
}

/* The pair's wait_readers: a grace period of the VM's SRCU domain, so that
 * no fault handler still holds the set (and a frame) the update replaced;
 * expedited, as the console and the self-tests wait for it. */
static void wait_readers(void *arg)
{
	struct vm_memslots *ms = arg;
	synchronize_srcu_expedited(&vm_slots_srcu);
	if (ms->user_wait)
		ms->user_wait(ms->user_arg);
}

/* The gate's kick: a request of every live vCPU of the VM, then a kick (an
 * IPI to one in guest mode).  The request is what stops a vCPU whose
 * indicator is set but that has not published guest mode yet: its re-check
 * sees it (vigil/vcpu_request.h). */
static void gate_kick(void *arg)
{
	struct vm *vm = arg;
	if (vm->vcpus)
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i])
				vcpu_make_request_and_kick(&vm->vcpus[i]->req, VCPU_REQ_SLOTS);
}

/* The gate opened: wake the vCPUs parked at it (they sleep on their
 * request wait queue, as a paused vCPU does). */
static void gate_wake(void *arg)
{
	struct vm *vm = arg;
	if (vm->vcpus)
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i])
				wake_up_all(&vm->vcpus[i]->req.wait);
}

/* The pair's inhibit hook, around the publish of a transaction whose
 * deleted ranges overlap its added ones (memslot_pair.c decides): close the
 * VM's entry gate and wait until no vCPU is between its entry and the end
 * of its exit's handling, then open it again.  The caller holds the slots
 * lock and nothing else; no vCPU takes that lock. */
static void inhibit(void *arg, bool on)
{
	struct vm_memslots *ms = arg;
	if (on)
		vm_gate_close(ms->vm->gate, gate_kick, ms->vm);
	if (ms->user_inhibit)
		ms->user_inhibit(ms->user_arg, on);
	if (!on)
		vm_gate_open(ms->vm->gate, gate_wake, ms->vm);
}

struct zap_ctx {
	struct vm *vm;
	unsigned zapped;
};

static void zap_one(const struct memslot *s, bool added, void *arg)
{
	struct zap_ctx *z = arg;
	if (added)
		return;           /* added ranges are mapped on their first fault */
	virt_ops_current()->vm_zap_range(z->vm, s->gpa, s->size);
	z->zapped++;
}

/* The pair's changed hook, right after the swap: the nested page tables
 * drop every mapping of a slot the new set no longer has as it was (a
 * delete, a move, a resize...), then every live vCPU of the VM is asked to
 * flush the guest's TLB and kicked, and waited for until it is outside the
 * guest: after that no CPU can still reach an old frame through a cached
 * translation, and the grace period that follows (wait_readers) covers the
 * fault handlers.  A `vm run` burst flushes at the first entry of each run. */
static void changed(void *arg, const struct memslot_set *before, const struct memslot_set *after)
{
	struct vm_memslots *ms = arg;
	struct zap_ctx z = { .vm = ms->vm };
	memslot_for_each_change(before, after, zap_one, &z);
	if (!z.zapped)
		return;
	ms->zaps += z.zapped;
	struct vm *vm = ms->vm;
	if (vm->vcpus)
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i])
				vcpu_request_and_wait(&vm->vcpus[i]->req, VCPU_REQ_TLB_FLUSH);
}

/* The published set and the swap: through the invalidation state, so a
 * swap waits until no host invalidation is open and start and end of one
 * always see the same set (mmu_invalidate_swap_slots).  The pair's active
 * pointer follows, for the fault path and `vm mem`. */
static void swap(void *arg, struct memslot_set *set)
{
	struct vm_memslots *ms = arg;
	const void *old;
	mmu_invalidate_swap_slots(&ms->mi, set, &old, NULL);
	__atomic_store_n(&ms->pair.active, set, __ATOMIC_RELEASE);
}

static bool inval_range_hits(void *ctx, const void *slots, uint64_t gfn_start, uint64_t gfn_end)
{
	(void)ctx;
	const struct memslot_set *set = slots;
	for (unsigned i = 0; i < set->nr; i++) {
		uint64_t s = set->slot[i].gpa >> PAGE_SHIFT, e = s + (set->slot[i].size >> PAGE_SHIFT);
		if (s < gfn_end && gfn_start < e)
			return true;
	}
	return false;
}

/* Under mmu_lock: the backend drops the range from the nested page tables
 * and bumps its flush generation; the flush of CPUs inside the guest is the
 * caller's, after start (it sleeps). */
static void inval_zap(void *ctx, const void *slots, uint64_t gfn_start, uint64_t gfn_end)
{
	(void)slots;
	struct vm_memslots *ms = ctx;
	virt_ops_current()->vm_zap_range(ms->vm, gfn_start << PAGE_SHIFT, (gfn_end - gfn_start) << PAGE_SHIFT);
}

static const struct mmu_invalidate_ops inval_ops = {
	.range_hits = inval_range_hits,
	.zap = inval_zap,
};

struct mmu_invalidate *vm_mmu_invalidate(struct vm *vm)
{
	return &vm->memslots->mi;
}

void vm_slots_read_lock(struct vm *vm, int *idx)
{
	(void)vm;
	*idx = srcu_read_lock(&vm_slots_srcu);
}

void vm_slots_read_unlock(struct vm *vm, int idx)
{
	(void)vm;
	srcu_read_unlock(&vm_slots_srcu, idx);
}

const struct memslot_set *vm_slots_active(struct vm *vm)
{
	return memslot_pair_active(&vm->memslots->pair);
}

void vm_count_mmio_exit(struct vm *vm)
{
	__atomic_add_fetch(&vm->mmio_exits, 1, __ATOMIC_RELAXED);
}

int vm_memslots_init(struct vm *vm, char *why, size_t len)
{
	struct vm_memslots *ms = kzalloc(sizeof(*ms));
	if (!ms)
		return why_fail(why, len, WHY_NOMEM, "out of memory for the VM's slots");
	mutex_init(&ms->lock);
	init_completion(&ms->unused);
	ms->vm = vm;
	int r = memslot_pair_init(&ms->pair, clamp_bits(arch_virt_gpa_bits()), why, len);
	if (r) {
		kfree(ms);
		return r;
	}
	ms->pair.wait_readers = wait_readers;
	ms->pair.inhibit = inhibit;
	ms->pair.changed = changed;
	ms->pair.swap = swap;
	ms->pair.arg = ms;
	/* The memory the VM was built with, as slots at the same places. */
	struct memslot_set *set = ms->pair.active;
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++) {
		const struct vm_slot *s = &vm->slots[i];
		if (!s->used)
			continue;
		struct memslot m = { .id = set->nr, .gpa = s->gpa, .size = s->size };
		m.backing = NULL;
		if (memslot_set_reserve(set, set->nr + 1) == 0 && memslot_set_reserve(ms->pair.inactive, set->nr + 1) == 0)
			m.backing = memslot_backing_borrow(s->hpa, s->size >> PAGE_SHIFT);
		if (!m.backing) {
			memslot_pair_destroy(&ms->pair);
			kfree(ms);
			return why_fail(why, len, WHY_NOMEM, "out of memory for the VM's slots");
		}
		unsigned at = memslot_lower_bound(set, m.gpa);
		memmove(&set->slot[at + 1], &set->slot[at], (set->nr - at) * sizeof(set->slot[0]));
		set->slot[at] = m;
		set->nr++;
	}
	memslot_set_copy(ms->pair.inactive, set);
	ms->pair.naive = naive_updates();
	spin_lock_init(&ms->mmu_lock);
	mmu_invalidate_init(&ms->mi, mmu_invalidate_boot_mode(), &ms->mmu_lock, &inval_ops, ms, set, ms->name);
	vm->memslots = ms;
	return 0;
}

void vm_memslots_named(struct vm *vm)
{
	struct vm_memslots *ms = vm->memslots;
	snprintf(ms->name, sizeof(ms->name), "vm%u", vm->id);
	mmu_invalidate_register(&ms->mi);
}

void vm_memslots_free(struct vm *vm)
{
	struct vm_memslots *ms = vm->memslots;
	if (!ms)
		return;
	unsigned long flags;
	spin_lock_irqsave(&uses_lock, flags);
	bool wait = ms->users != 0;
	ms->waiting = wait;
	spin_unlock_irqrestore(&uses_lock, flags);
	if (wait)
		wait_for_completion(&ms->unused);
	if (ms->name[0])
		mmu_invalidate_unregister(&ms->mi);
	memslot_pair_destroy(&ms->pair);
	kfree(ms);
	vm->memslots = NULL;
}

struct memslot_pair *vm_memslot_pair(struct vm *vm)
{
	return &vm->memslots->pair;
}

struct mutex *vm_memslot_lock(struct vm *vm)
{
	return &vm->memslots->lock;
}

struct lookup {
	unsigned id;
	struct vm_memslots *ms;
	bool found;
};

static void match(const struct vm *vm, void *arg)
{
	struct lookup *q = arg;
	if (vm->id != q->id || !vm->memslots)
		return;
	q->found = true;
	q->ms = vm->memslots;
	unsigned long flags;
	spin_lock_irqsave(&uses_lock, flags);
	q->ms->users++;
	spin_unlock_irqrestore(&uses_lock, flags);
}

static struct vm_memslots *get(unsigned vm_id, char *why, size_t len, int *r)
{
	struct lookup q = { .id = vm_id };
	vm_for_each(match, &q);
	if (!q.ms)
		*r = why_fail(why, len, WHY_NO_VM, "no VM with id %u (try 'vm list')", vm_id);
	return q.ms;
}

static void put(struct vm_memslots *ms)
{
	unsigned long flags;
	spin_lock_irqsave(&uses_lock, flags);
	bool last = --ms->users == 0 && ms->waiting;
	spin_unlock_irqrestore(&uses_lock, flags);
	if (last)
		complete(&ms->unused);
}

int vm_slot_update(unsigned vm_id, const struct memslot_txn *txn, struct memslot_txn_result *res, char *why,
		   size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	mutex_lock(&ms->lock);
	r = memslot_pair_update(&ms->pair, txn, res, why, len);
	mutex_unlock(&ms->lock);
	put(ms);
	return r;
}

int vm_slot_for_each(unsigned vm_id, void (*fn)(const struct memslot *s, void *arg), void *arg, char *why,
		     size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	mutex_lock(&ms->lock);
	const struct memslot_set *set = memslot_pair_active(&ms->pair);
	for (unsigned i = 0; i < set->nr; i++)
		fn(&set->slot[i], arg);
	mutex_unlock(&ms->lock);
	put(ms);
	return 0;
}

int vm_mem_access(unsigned vm_id, uint64_t gpa, void *buf, size_t n, bool write, char *why, size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	/* Under the slots lock: no update frees a frame while it is read.
	 * Under the MMU lock: a host invalidation changes a frame's page under
	 * it (memslot_frame_migrate() copies there), so the copy here comes
	 * wholly before or after that, never lands in a page being retired. */
	mutex_lock(&ms->lock);
	const struct memslot_set *set = memslot_pair_active(&ms->pair);
	unsigned long flags;
	spin_lock_irqsave(&ms->mmu_lock, flags);
	/* The host writes read-only slots too (as it loads a guest's code). */
	r = write ? memslot_write(set, gpa, buf, n, true, why, len) : memslot_read(set, gpa, buf, n, why, len);
	spin_unlock_irqrestore(&ms->mmu_lock, flags);
	mutex_unlock(&ms->lock);
	put(ms);
	return r;
}

/* A VM built without slot sets (a backend self-test's rig): its own
 * contiguous regions. */
static bool read_regions(const struct vm *vm, uint64_t gpa, uint8_t *out, size_t n)
{
	while (n) {
		const struct vm_slot *hit = NULL;
		for (unsigned k = 0; k < VM_MAX_SLOTS && !hit; k++) {
			const struct vm_slot *s = &vm->slots[k];
			if (s->used && gpa >= s->gpa && gpa - s->gpa < s->size)
				hit = s;
		}
		if (!hit)
			return false;
		size_t here = (size_t)MIN((uint64_t)n, hit->size - (gpa - hit->gpa));
		memcpy(out, (const uint8_t *)phys_to_virt(hit->hpa) + (gpa - hit->gpa), here);
		out += here;
		gpa += here;
		n -= here;
	}
	return true;
}

bool vm_guest_read(struct vm *vm, uint64_t gpa, void *buf, size_t n)
{
	struct vm_memslots *ms = vm->memslots;
	if (!ms)
		return read_regions(vm, gpa, buf, n);
	int idx;
	unsigned long flags;
	char why[8];
	vm_slots_read_lock(vm, &idx);
	spin_lock_irqsave(&ms->mmu_lock, flags);
	bool ok = memslot_read(vm_slots_active(vm), gpa, buf, n, why, sizeof(why)) == 0;
	spin_unlock_irqrestore(&ms->mmu_lock, flags);
	vm_slots_read_unlock(vm, idx);
	return ok;
}

int vm_slot_set_hooks(unsigned vm_id, void (*wait_readers)(void *arg), void (*inhibit)(void *arg, bool on),
		      void *arg, char *why, size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	mutex_lock(&ms->lock);
	ms->user_wait = wait_readers;
	ms->user_inhibit = inhibit;
	ms->user_arg = arg;
	mutex_unlock(&ms->lock);
	put(ms);
	return 0;
}

int vm_slot_stats(unsigned vm_id, uint64_t *updates, uint64_t *inhibited, bool *naive, char *why, size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	mutex_lock(&ms->lock);
	*updates = ms->pair.updates;
	*inhibited = ms->pair.inhibited;
	*naive = ms->pair.naive;
	mutex_unlock(&ms->lock);
	put(ms);
	return 0;
}

int vm_slot_gate_stats(unsigned vm_id, uint64_t *blocked, uint64_t *blocked_ns, char *why, size_t len)
{
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	*blocked = __atomic_load_n(&ms->vm->gate->blocked, __ATOMIC_RELAXED);
	*blocked_ns = __atomic_load_n(&ms->vm->gate->blocked_ns, __ATOMIC_RELAXED);
	put(ms);
	return 0;
}

/* Every live vCPU of the VM flushes its guest TLB and is out of the guest
 * when this returns (as after a slot change). */
static void flush_vcpus(struct vm *vm)
{
	if (vm->vcpus)
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i])
				vcpu_request_and_wait(&vm->vcpus[i]->req, VCPU_REQ_TLB_FLUSH);
}

/* Is every page of [gpa, gpa+size) in a slot? */
static int check_range(const struct memslot_set *set, uint64_t gpa, uint64_t size, char *why, size_t len)
{
	if (!size)
		return why_fail(why, len, WHY_ZERO_SIZE, "size=0: nothing to do");
	if ((gpa | size) & (PAGE_SIZE - 1))
		return why_fail(why, len, WHY_MISALIGNED, "gpa=0x%lx size=0x%lx: both must be multiples of 0x%lx",
				(unsigned long)gpa, (unsigned long)size, (unsigned long)PAGE_SIZE);
	if (gpa + size < gpa)
		return why_fail(why, len, WHY_ADDR_WIDTH, "gpa+size wraps around");
	for (uint64_t a = gpa; a < gpa + size; a += PAGE_SIZE)
		if (!memslot_lookup(set, a >> PAGE_SHIFT))
			return why_fail(why, len, WHY_NO_SLOT, "guest-physical 0x%lx is in no memory slot",
					(unsigned long)a);
	return 0;
}

/* Move or take away one page, under the MMU lock: the frame is shared by
 * every set that lists it, so the active set, the inactive one and a swap
 * that is about to publish all see the change. */
static int change_page(struct vm_memslots *ms, const struct memslot_set *set, uint64_t gpa, bool migrate,
		       struct memslot_retired *old, struct vm_mem_inval_res *res, char *why, size_t len)
{
	uint64_t page = migrate ? pmm_alloc_page() : 0;
	void *spare = migrate ? NULL : kmalloc(PAGE_SIZE);
	if (!page && !spare)
		return why_fail(why, len, WHY_NOMEM, "out of memory at guest-physical 0x%lx after %lu pages (those done)",
				(unsigned long)gpa, (unsigned long)res->pages);
	unsigned long flags;
	spin_lock_irqsave(&ms->mmu_lock, flags);
	const struct memslot *s = memslot_lookup(set, gpa >> PAGE_SHIFT);
	struct memslot_frame *f = s->backing->frame[(gpa - s->gpa) >> PAGE_SHIFT];
	bool done = migrate ? memslot_frame_migrate(f, page, old) : memslot_frame_reclaim(f, &spare, old);
	spin_unlock_irqrestore(&ms->mmu_lock, flags);
	if (done)
		res->pages++;
	else
		res->absent++;
	if (!migrate && done && !spare)
		res->kept++;
	if (migrate && !done)
		pmm_free_page(page);
	kfree(spare);
	return 0;
}

static int invalidate(struct vm_memslots *ms, const struct vm_mem_inval_req *req, struct vm_mem_inval_res *res,
		      char *why, size_t len)
{
	/* The bad-input checks first, on the set as it is now, so a refusal
	 * opens no bracket; the range is checked again on the set the bracket
	 * saw (a swap may come in between). */
	int idx;
	vm_slots_read_lock(ms->vm, &idx);
	const struct memslot_set *now = vm_slots_active(ms->vm);
	int r = check_range(now, req->gpa, req->size, why, len);
	if (!r && req->nest_size)
		r = check_range(now, req->nest_gpa, req->nest_size, why, len);
	vm_slots_read_unlock(ms->vm, idx);
	if (r)
		return r;
	uint64_t npages = req->size >> PAGE_SHIFT;
	struct memslot_retired *old = kzalloc(npages * sizeof(*old));
	if (!old)
		return why_fail(why, len, WHY_NOMEM, "out of memory for %lu pages", (unsigned long)npages);

	struct mmu_inval_range ir = { .gfn_start = req->gpa >> PAGE_SHIFT,
				      .gfn_end = (req->gpa + req->size) >> PAGE_SHIFT };
	mmu_invalidate_range_start(&ms->mi, &ir);
	/* From here until our end no swap publishes (it waits for us), so the
	 * set start saw stays the active one and its frames stay alive. */
	const struct memslot_set *set = ir.slots;
	r = check_range(set, req->gpa, req->size, why, len);
	if (!r) {
		/* start zapped the range's nested mappings and faults on it
		 * retry; once every vCPU has flushed, no CPU writes the old
		 * pages through a stale translation. */
		flush_vcpus(ms->vm);
		for (uint64_t i = 0; i < npages && !r; i++) {
			if (req->nest_size && i == npages / 2) {
				struct vm_mem_inval_req in = { .migrate = true, .gpa = req->nest_gpa,
							       .size = req->nest_size };
				struct vm_mem_inval_res ires = { 0 };
				r = invalidate(ms, &in, &ires, why, len);
				res->nested_pages += ires.pages;
				if (r)
					break;
			}
			r = change_page(ms, set, req->gpa + i * PAGE_SIZE, req->migrate, &old[i], res, why, len);
		}
	}
	mmu_invalidate_range_end(&ms->mi, &ir);
	/* Every access to a frame's page is under the MMU lock or through a
	 * nested mapping, which start zapped and the flush emptied: nobody
	 * holds the retired pages any more. */
	for (uint64_t i = 0; i < npages; i++)
		memslot_retired_free(&old[i]);
	kfree(old);
	return r;
}

int vm_mem_invalidate(unsigned vm_id, const struct vm_mem_inval_req *req, struct vm_mem_inval_res *res,
		      char *why, size_t len)
{
	*res = (struct vm_mem_inval_res){ 0 };
	int r = 0;
	struct vm_memslots *ms = get(vm_id, why, len, &r);
	if (!ms)
		return r;
	r = invalidate(ms, req, res, why, len);
	put(ms);
	return r;
}

/*
 * Memory slots: a VM's guest-physical memory as a set of slots, changed by
 * transactions and published with one pointer swap (docs/design.md,
 * "Memory slots").
 *
 *   frame    one host page with a reference count (core/virt/memslot_frame.c);
 *            slots that keep a range keep its frames, so split, merge,
 *            resize and move preserve the guest's data without copying.
 *   backing  the frames of one slot, in guest order, itself reference
 *            counted: the two copies of a VM's slot set share it.
 *   set      up to MEMSLOT_MAX slots sorted by gpa, looked up by gfn with a
 *            binary search (core/virt/memslot_set.c).
 *   txn      a list of changes applied to a copy of a set as one: every
 *            change is checked, and on the first refusal nothing changes
 *            (core/virt/memslot_txn.c).
 *   pair     the two sets of a VM, active and inactive, and the publish step
 *            (core/virt/memslot_pair.c).
 *
 * Reference counts and the inactive set are only touched by the updater,
 * which holds the VM's slots lock; readers only read the active set, inside
 * whatever read-side section the pair's wait_readers callback waits for.
 */
#ifndef VIGIL_MEMSLOT_H
#define VIGIL_MEMSLOT_H

#include <vigil/types.h>
#include <vigil/why.h>

#define MEMSLOT_MAX 512            /* slots per VM */
#define MEMSLOT_GPA_BITS_MIN 36    /* the guest-physical address width is */
#define MEMSLOT_GPA_BITS_MAX 52    /* clamped to this range */
#define MEMSLOT_GPA_BITS_DEFAULT 36

#define MEMSLOT_RO 1u              /* flags: guest writes are refused */

/*
 * A frame is what a slot lists at one guest page: the analogue of a host
 * virtual page behind a KVM memslot.  The host page behind it (hpa) may
 * change while every backing that lists the frame keeps listing it -- host
 * invalidation (`vm mem migrate|reclaim`) moves or takes away the page, as
 * Linux changes the page-table entry behind an address.  hpa 0 means not
 * resident: reclaimed, its contents kept in `saved` (NULL when they were all
 * zeros), and the next touch faults a fresh page back in
 * (memslot_frame_page()).  hpa, borrowed and saved change only under the
 * VM's MMU lock, inside an invalidation that covers the frame's guest pages
 * (or by the frame's sole owner, in the host tests).
 */
struct memslot_frame {
	uint64_t hpa;              /* the host page, 0 when not resident */
	uint32_t refs;
	bool borrowed;             /* someone else's page: never freed here */
	void *saved;               /* not resident: its contents (PAGE_SIZE bytes), or NULL for zeros */
};

struct memslot_backing {
	uint32_t refs;
	uint64_t npages;
	struct memslot_frame *frame[];
};

struct memslot {
	unsigned id;
	unsigned flags;            /* MEMSLOT_RO */
	uint64_t gpa;
	uint64_t size;             /* bytes, a multiple of PAGE_SIZE, > 0 */
	struct memslot_backing *backing;
};

struct memslot_set {
	unsigned nr;
	unsigned cap;              /* room in slot[]; grows by doubling up to MEMSLOT_MAX */
	unsigned gpa_bits;
	uint64_t generation;       /* transactions applied */
	struct memslot *slot;      /* [0, nr) sorted by gpa, disjoint */
};

/* ---- frames and backings (memslot_frame.c) ---- */

/* npages fresh zeroed frames; NULL when out of memory (nothing kept). */
struct memslot_backing *memslot_backing_alloc(uint64_t npages);
/* npages frames that belong to someone else, starting at hpa (contiguous). */
struct memslot_backing *memslot_backing_borrow(uint64_t hpa, uint64_t npages);
/* src's frames [first, first+n) (shared: refs++) followed by extra fresh
 * zeroed frames; NULL when out of memory. */
struct memslot_backing *memslot_backing_slice(const struct memslot_backing *src, uint64_t first, uint64_t n,
					      uint64_t extra);
/* a's frames then b's (shared); NULL when out of memory. */
struct memslot_backing *memslot_backing_concat(const struct memslot_backing *a, const struct memslot_backing *b);
void memslot_backing_get(struct memslot_backing *b);
void memslot_backing_put(struct memslot_backing *b);
/* ---- host invalidation of frames (docs/invalidation.md) ----
 *
 * All under the VM's MMU lock (nothing here sleeps; the allocations are the
 * heap's and the page allocator's leaf locks). */

/* The page a frame retired: the caller frees it with memslot_retired_free()
 * once no CPU can reach it any more (after its invalidation's end). */
struct memslot_retired {
	uint64_t hpa;              /* 0: nothing to free */
	bool borrowed;             /* someone else's page: not freed */
};
void memslot_retired_free(struct memslot_retired *r);

/* The resident page of f, faulting it back in (a fresh page with the saved
 * contents, or zeros) when it was reclaimed; 0 when out of memory. */
uint64_t memslot_frame_page(struct memslot_frame *f);
/* Migration: copy f's page to new_hpa (a page the caller allocated) and
 * make it f's page; the old one goes to *old.  A frame that is not resident
 * has nothing to move: false, and new_hpa stays the caller's. */
bool memslot_frame_migrate(struct memslot_frame *f, uint64_t new_hpa, struct memslot_retired *old);
/* Reclaim: take f's page away, keeping its contents in *spare (a PAGE_SIZE
 * heap block the caller allocated; *spare becomes NULL when it is used --
 * not for a page of zeros, which keeps nothing).  The page goes to *old.
 * False when f was not resident (nothing changed). */
bool memslot_frame_reclaim(struct memslot_frame *f, void **spare, struct memslot_retired *old);

void memslot_frame_put(struct memslot_frame *f);
/* Pages allocated here and not yet freed (for the tests' leak checks). */
uint64_t memslot_frames_live(void);
/* Frames not resident right now, and the reclaimed pages faulted back in
 * (for `vm mem stat`-like reports and the tests). */
uint64_t memslot_frames_saved(void);
uint64_t memslot_frames_faulted_back(void);

/* ---- sets (memslot_set.c) ---- */

struct memslot_set *memslot_set_alloc(unsigned gpa_bits);
/* Drop every slot's backing, then free the set. */
void memslot_set_free(struct memslot_set *set);
/* Room for n slots in set (a VM holds few slots: a set starts small).
 * 0 or -WHY_NOMEM (set unchanged). */
int memslot_set_reserve(struct memslot_set *set, unsigned n);
/* Make dst an exact copy of src (backings shared, references taken).  The
 * caller reserved room for src->nr slots in dst. */
void memslot_set_copy(struct memslot_set *dst, const struct memslot_set *src);
/* Drop every slot (references released). */
void memslot_set_clear(struct memslot_set *set);
/* The slot holding gfn, or NULL (binary search). */
const struct memslot *memslot_lookup(const struct memslot_set *set, uint64_t gfn);
/* The host page backing gfn in s, which holds gfn (what a nested page
 * fault maps): memslot_frame_page(), so a reclaimed page is faulted back
 * in; 0 when out of memory.  For a VM's slots: under its MMU lock. */
static inline uint64_t memslot_gfn_to_hpa(const struct memslot *s, uint64_t gfn)
{
	return memslot_frame_page(s->backing->frame[gfn - (s->gpa >> PAGE_SHIFT)]);
}
/* The slot with this id, or NULL; its index in *idx when found. */
struct memslot *memslot_by_id(const struct memslot_set *set, unsigned id, unsigned *idx);
/* The index of the first slot whose end lies above gpa (where a slot
 * starting at gpa would go). */
unsigned memslot_lower_bound(const struct memslot_set *set, uint64_t gpa);
/* Guest-physical bytes through the slots: 0, or -cause with why (no slot
 * there, or a read-only slot for a write).  Whole range must be in slots. */
int memslot_read(const struct memslot_set *set, uint64_t gpa, void *buf, size_t len, char *why, size_t wlen);
int memslot_write(const struct memslot_set *set, uint64_t gpa, const void *buf, size_t len, bool force,
		  char *why, size_t wlen);

/* ---- transactions (memslot_txn.c) ---- */

enum memslot_op { MEMSLOT_ADD, MEMSLOT_DEL, MEMSLOT_MOVE, MEMSLOT_RESIZE, MEMSLOT_SPLIT, MEMSLOT_MERGE };

struct memslot_change {
	enum memslot_op op;
	unsigned slot, slot2;      /* the slot(s) it concerns (MERGE: both) */
	uint64_t gpa;              /* ADD, MOVE: new start; SPLIT: where */
	uint64_t size;             /* ADD, RESIZE */
	unsigned flags;            /* ADD */
};

#define MEMSLOT_TXN_MAX 16         /* changes per transaction */

struct memslot_txn {
	unsigned n;
	struct memslot_change c[MEMSLOT_TXN_MAX];
};

/* What a transaction did, compared slot by slot (same id, gpa, size, flags
 * and backing = unchanged). */
struct memslot_txn_result {
	unsigned deleted;          /* slots of the old set that are gone or changed */
	unsigned added;            /* slots of the new set that are new or changed */
	bool inhibit;              /* some deleted range overlaps some added one */
	uint64_t added_ids[MEMSLOT_MAX / 64]; /* bit id: slot id is new or changed */
};

/* Apply txn to set (in place).  0 with *res filled, or -cause with why
 * ("change <k>: ...") -- then set is left in an unspecified state and the
 * caller must restore it (memslot_pair does: it works on the inactive copy
 * and copies the active one back). */
int memslot_txn_apply(struct memslot_set *set, const struct memslot_txn *txn, char *why, size_t len);
/* The id, other than slot, that a transaction added (the upper half of a
 * split of slot), or MEMSLOT_MAX when none. */
unsigned memslot_txn_other_added(const struct memslot_txn_result *res, unsigned slot);
/* Compare two sets as above. */
void memslot_diff(const struct memslot_set *old, const struct memslot_set *new, struct memslot_txn_result *res);
/* s (a slot of one set) is in other unchanged: same id, range, flags, backing. */
bool memslot_kept(const struct memslot *s, const struct memslot_set *other);
/* Every slot of before that after does not keep (added = false), then every
 * slot of after that before did not have (added = true), each by gpa: what
 * the hardware mappings must drop, then what they may map. */
void memslot_for_each_change(const struct memslot_set *before, const struct memslot_set *after,
			     void (*fn)(const struct memslot *s, bool added, void *arg), void *arg);
/* Parse one change ("add gpa=<a> size=<s> [ro]", "del <slot>", "move <slot>
 * gpa=<a>", "resize <slot> size=<s>", "split <slot> at=<gpa>", "merge
 * <slot> <slot>") from argv[0..argc); 0 or -cause with why. */
int memslot_parse_change(int argc, char **argv, struct memslot_change *c, char *why, size_t len);
/* Parse "<change> ; <change> ; ..." (a ';' may also end a word). */
int memslot_parse_txn(int argc, char **argv, struct memslot_txn *txn, char *why, size_t len);

/* ---- the two sets of a VM (memslot_pair.c) ---- */

struct memslot_pair {
	struct memslot_set *active;    /* readers: __atomic_load_n(ACQUIRE) */
	struct memslot_set *inactive;  /* updater only: an exact copy of active between updates */
	/* After the swap: return once no reader can still see the old active
	 * set (SRCU's synchronize); NULL when every reader holds the updater's
	 * lock. */
	void (*wait_readers)(void *arg);
	/* Around the swap of a transaction whose deleted ranges overlap its
	 * added ones: block guest entries and wait for vCPUs in guest mode
	 * (on = true), then let them go (on = false).  NULL: nothing to do. */
	void (*inhibit)(void *arg, bool on);
	/* Right after each swap, before the wait (inside the inhibition when
	 * there is one): before was active, after is.  Where the nested page
	 * tables drop the mappings of what before had and after lacks
	 * (memslot_for_each_change).  NULL: nothing to do. */
	void (*changed)(void *arg, const struct memslot_set *before, const struct memslot_set *after);
	/* The swap itself, in place of the plain store of active (NULL: the
	 * store): a VM's pair publishes through mmu_invalidate_swap_slots(),
	 * which waits for open host invalidations (docs/invalidation.md). */
	void (*swap)(void *arg, struct memslot_set *set);
	void *arg;
	/* Publish a transaction as two steps -- every delete, then every add --
	 * with a wait after each and never an inhibition: the gap atomic
	 * updates close, for tests that show it (a reader may find a range
	 * without its slot in between). */
	bool naive;
	uint64_t updates, inhibited;   /* counts, for `vm slot` and the tests */
};

/* Both sets empty.  0 or -WHY_NOMEM. */
int memslot_pair_init(struct memslot_pair *p, unsigned gpa_bits, char *why, size_t len);
void memslot_pair_destroy(struct memslot_pair *p);
/* The updater (caller holds the VM's slots lock): apply txn to the inactive
 * set; on success inhibit if needed, swap, wait for readers, bring the
 * other copy up to date.  On failure nothing changes.  res may be NULL.
 * wait_readers must order the swap before its look at the readers (a full
 * barrier, as synchronize_srcu has). */
int memslot_pair_update(struct memslot_pair *p, const struct memslot_txn *txn, struct memslot_txn_result *res,
			char *why, size_t len);
static inline const struct memslot_set *memslot_pair_active(const struct memslot_pair *p)
{
	return __atomic_load_n(&p->active, __ATOMIC_ACQUIRE);
}

/* ---- per VM (memslot_vm.c; kernel only) ---- */

struct vm;
/* The guest-physical address width the backend's nested paging can map
 * (arch hook), clamped to [MEMSLOT_GPA_BITS_MIN, MEMSLOT_GPA_BITS_MAX]. */
unsigned arch_virt_gpa_bits(void);
/* vm_create: the VM's slots, with its existing guest memory as slot 0
 * (sharing its pages).  vm_destroy: before that memory is freed. */
int vm_memslots_init(struct vm *vm, char *why, size_t len);
/* Once the VM has its id: its invalidation state is named "vm<id>" and
 * registered (`mmu_inval`, the `check` invariant). */
void vm_memslots_named(struct vm *vm);
void vm_memslots_free(struct vm *vm);

/* The console and the self-test reach a VM's slots by VM id.  Each takes
 * the VM's slots lock; -WHY_NO_VM when there is no such VM. */
int vm_slot_update(unsigned vm_id, const struct memslot_txn *txn, struct memslot_txn_result *res, char *why,
		   size_t len);
/* Call fn for each slot of the active set, under the slots lock. */
int vm_slot_for_each(unsigned vm_id, void (*fn)(const struct memslot *s, void *arg), void *arg, char *why,
		     size_t len);
int vm_mem_access(unsigned vm_id, uint64_t gpa, void *buf, size_t n, bool write, char *why, size_t len);
/* For the vCPU side, which holds the VM: its pair (readers call
 * memslot_pair_active() inside their read-side section) and its slots lock
 * (struct mutex, vigil/mutex.h), which every updater holds. */
struct mutex;
struct memslot_pair *vm_memslot_pair(struct vm *vm);
struct mutex *vm_memslot_lock(struct vm *vm);
/* Hooks for the vCPU side (SRCU, inhibition): set on a VM's pair. */
int vm_slot_set_hooks(unsigned vm_id, void (*wait_readers)(void *arg), void (*inhibit)(void *arg, bool on),
		      void *arg, char *why, size_t len);
/* The nested page fault path (the backends): look the gfn up in the active
 * set inside a read section of the VM's SRCU domain, which every update
 * waits for before it frees what it replaced. */
void vm_slots_read_lock(struct vm *vm, int *idx);
void vm_slots_read_unlock(struct vm *vm, int idx);
const struct memslot_set *vm_slots_active(struct vm *vm);
/* n bytes of guest-physical memory at gpa through the active slots, as the
 * vCPU sees it (a reclaimed page is faulted back in; under the SRCU read
 * side and the MMU lock, so a migration is wholly before or after): what an
 * exit handler decodes.  False when a byte is outside every slot. */
bool vm_guest_read(struct vm *vm, uint64_t gpa, void *buf, size_t n);
/* One MMIO exit (a guest access outside every slot, or a write to a
 * read-only one) of the VM: vm->mmio_exits. */
void vm_count_mmio_exit(struct vm *vm);
/* The VM's host-invalidation state (vigil/mmu_invalidate.h): the fault
 * path reads its seq before the lookup and retries under its mmu_lock. */
struct mmu_invalidate *vm_mmu_invalidate(struct vm *vm);
/*
 * Host invalidation of guest memory (docs/invalidation.md), bracketed by
 * the VM's invalidation range start and end and never under its slots
 * lock, so a slot swap really waits for it:
 *   migrate  each resident page of [gpa, gpa+size) moves to a new host
 *            page with its data;
 *   reclaim  each resident page is taken away, its contents kept aside
 *            (nothing for a page of zeros); the next touch, by the guest or
 *            the host, faults a fresh page back in with them.
 * nest_size > 0: halfway through, the same task migrates
 * [nest_gpa, nest_gpa+nest_size) inside its own bracket (an invalidation
 * nested in another, as reclaim that compacts).  Several tasks may run
 * these at once on one VM.
 */
struct vm_mem_inval_req {
	bool migrate;              /* else reclaim */
	uint64_t gpa, size;
	uint64_t nest_gpa, nest_size;
};
struct vm_mem_inval_res {
	uint64_t pages;            /* pages moved or taken away */
	uint64_t kept;             /* reclaim: pages whose contents were kept aside */
	uint64_t absent;           /* pages already not resident (nothing to do) */
	uint64_t nested_pages;     /* pages the nested migration moved */
};
/* 0, or -cause with why: a named error changes nothing, except out of
 * memory midway (the pages before it are done, res says how many). */
int vm_mem_invalidate(unsigned vm_id, const struct vm_mem_inval_req *req, struct vm_mem_inval_res *res,
		      char *why, size_t len);
/* Background invalidations (`vm mem churn`, core/virt/vm_mem_churn.c):
 * tasks that migrate and reclaim random ranges of [gpa, gpa+size) until
 * vm_mem_churn_end().  One churn at a time on the machine. */
#define VM_MEM_CHURN_TASKS_MAX 8
struct vm_mem_churn_cfg {
	unsigned vm, tasks;
	uint64_t gpa, size;
	uint64_t max_pages;        /* a range is 1..max_pages pages */
	unsigned reclaim_pct;      /* reclaims among the invalidations (else migrations) */
	unsigned nest_pct;         /* reclaims that nest a migration */
	uint64_t gap_ns;           /* each task sleeps this long between two (0: only yields) */
	uint64_t seed;
};
struct vm_mem_churn_stats {
	unsigned tasks;
	uint64_t invalidations;    /* brackets, nested ones included */
	uint64_t migrations, reclaims, nested;
	uint64_t pages, kept, nested_pages;
	uint64_t errors;           /* refused invalidations (the first is logged) */
	uint64_t ns;               /* from begin to end */
};
int vm_mem_churn_begin(const struct vm_mem_churn_cfg *cfg, char *why, size_t len);
/* Invalidations so far (a snapshot while it runs). */
uint64_t vm_mem_churn_count(void);
int vm_mem_churn_end(unsigned vm, struct vm_mem_churn_stats *st, char *why, size_t len);
int vm_slot_stats(unsigned vm_id, uint64_t *updates, uint64_t *inhibited, bool *naive, char *why, size_t len);
/* Entries of the VM's vCPUs that found its gate closed (an atomic update in
 * progress) and the time they spent blocked there, in ns. */
int vm_slot_gate_stats(unsigned vm_id, uint64_t *blocked, uint64_t *blocked_ns, char *why, size_t len);

/* `vm slot churn` (core/virt/vm_slot_churn.c): rounds of split + merge +
 * grow + shrink of slot (and, with move_slot >= 0, a move of that slot one
 * page up and back), each one transaction; the first splits' latencies. */
#define VM_SLOT_CHURN_SAMPLES 64
struct vm_slot_churn_stats {
	uint64_t updates, splits;
	uint64_t split_ns[VM_SLOT_CHURN_SAMPLES];
};
int vm_slot_churn(unsigned vm_id, unsigned slot, unsigned rounds, int move_slot, struct vm_slot_churn_stats *st,
		  char *why, size_t len);

#endif

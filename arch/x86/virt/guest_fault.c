/*
 * Nested page faults against the memory slots, for both technologies
 * (asm/guest_fault.h).
 *
 * Inside a read section of the VM's SRCU domain (so no update frees a frame
 * under us):
 *   - a slot holds the gfn and the access is allowed: map that page,
 *     writable only when the slot is rw; the guest re-enters with RIP
 *     unchanged and repeats the access;
 *   - no slot, or a write to a read-only slot: an MMIO exit, counted on the
 *     vCPU's run and on the VM.  The instruction at RIP is decoded
 *     (asm/mmio_insn.h) so the backend can complete it: a load gets
 *     MMIO_READ_MARKER, a store is dropped.  A fetch, or an instruction
 *     the decoder does not know, stops the guest with a named error.
 * The lookup and the map run under the backend's lock, as does its zap of a
 * slot change: a lookup that still found a replaced set maps before that
 * zap removes the mapping again, never after.
 */
#include <stdarg.h>
#include <asm/guest_fault.h>
#include <vigil/memslot.h>
#include <vigil/mmu_invalidate.h>
#include <vigil/spinlock.h>
#include <vigil/string.h>

__printf(2, 3) static enum vcpu_exit_action guest_fail(struct vcpu_run *run, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(run->why, sizeof(run->why), fmt, ap);
	va_end(ap);
	run->guest_failed = true;
	return VCPU_EXIT_GUEST_FAILED;
}

/* The bytes at the faulting instruction, through the slots.  How many
 * could be read (fewer when the code ends at a slot's end). */
static size_t read_insn(const struct memslot_set *set, uint64_t at, uint8_t *b, size_t max)
{
	char why[8];
	size_t n = max;
	while (n && memslot_read(set, at, b, n, why, sizeof(why)))
		n--;
	return n;
}

enum vcpu_exit_action guest_fault_handle(struct vm *vm, struct vcpu_run *run, const struct guest_fault *f,
					 struct mmio_insn *insn)
{
	insn->len = 0;
	vcpu_run_count_exit(run, VEXIT_MEM_FAULT);
	uint64_t gfn = f->gpa >> PAGE_SHIFT;
	/* Host invalidations (docs/invalidation.md): seq before the lookup;
	 * under the invalidation lock, which start holds while it zaps, a
	 * fault on a range being invalidated, or one that overlapped the end
	 * of one, maps nothing: the guest re-enters and faults again. */
	struct mmu_invalidate *mi = vm_mmu_invalidate(vm);
	uint64_t seq = mmu_invalidate_fault_seq(mi);
	int idx;
	vm_slots_read_lock(vm, &idx);
	unsigned long flags, iflags;
	spin_lock_irqsave(mi->mmu_lock, iflags);
	if (mmu_invalidate_retry_gfn(mi, seq, gfn)) {
		spin_unlock_irqrestore(mi->mmu_lock, iflags);
		vm_slots_read_unlock(vm, idx);
		/* The guest re-enters and faults again: one fault, many
		 * retries, until a map ends the streak. */
		run->fault_retries++;
		run->fault_streak++;
		mmu_invalidate_count_retry(mi);
		return VCPU_EXIT_CONTINUE;
	}
	spin_lock_irqsave(f->lock, flags);
	const struct memslot_set *set = vm_slots_active(vm);
	const struct memslot *s = memslot_lookup(set, gfn);
	bool ro = s && (s->flags & MEMSLOT_RO);
	int r = 1;
	uint64_t hpa = 0;
	if (s && !(f->write && ro)) {
		/* A reclaimed page is faulted back in here, under the MMU lock. */
		hpa = memslot_gfn_to_hpa(s, gfn);
		r = hpa ? f->map(vm, gfn << PAGE_SHIFT, hpa, !ro) : -1;
	}
	spin_unlock_irqrestore(f->lock, flags);
	spin_unlock_irqrestore(mi->mmu_lock, iflags);
	if (r == 0) {
		mmu_invalidate_count_mapped(mi, run->fault_streak);
		if (run->fault_streak > run->max_fault_retries)
			run->max_fault_retries = run->fault_streak;
		run->fault_streak = 0;
	}
	if (r <= 0) {
		vm_slots_read_unlock(vm, idx);
		if (r == 0)
			return VCPU_EXIT_CONTINUE;   /* the guest repeats the access */
		snprintf(run->why, sizeof(run->why), "out of memory for %s at guest-physical 0x%lx",
			 hpa ? "nested page tables" : "a reclaimed page", (unsigned long)f->gpa);
		return VCPU_EXIT_HOST_FAILED;
	}

	/* An MMIO exit. */
	const char *what = s ? "write to a read-only slot" : f->fetch ? "fetch" : f->write ? "write" : "read";
	if (f->fetch) {
		vm_slots_read_unlock(vm, idx);
		return guest_fail(run, "guest touched unmapped guest-physical 0x%lx (fetch: no code runs outside the "
				  "memory slots)", (unsigned long)f->gpa);
	}
	uint8_t b[15];
	/* Under the MMU lock: a host invalidation may be changing the code
	 * page's frame (memslot_frame_migrate()). */
	spin_lock_irqsave(mi->mmu_lock, iflags);
	size_t n = read_insn(set, f->insn_gpa, b, sizeof(b));
	spin_unlock_irqrestore(mi->mmu_lock, iflags);
	vm_slots_read_unlock(vm, idx);
	char why[64];
	if (mmio_insn_decode(b, n, insn, why, sizeof(why))) {
		insn->len = 0;
		return guest_fail(run, "guest touched unmapped guest-physical 0x%lx (%s; MMIO at rip 0x%lx: %s)",
				  (unsigned long)f->gpa, what, (unsigned long)f->rip, why);
	}
	if (insn->write != f->write) {
		bool w = insn->write;
		insn->len = 0;
		return guest_fail(run, "guest touched unmapped guest-physical 0x%lx (%s; the instruction at rip 0x%lx "
				  "is a %s)", (unsigned long)f->gpa, what, (unsigned long)f->rip, w ? "store" : "load");
	}
	run->mmio_exits++;
	vm_count_mmio_exit(vm);
	return VCPU_EXIT_CONTINUE;
}

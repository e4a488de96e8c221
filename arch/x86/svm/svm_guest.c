/*
 * Loading the built-in guest (svm_guest_code.asm) into a VM's memory, and
 * reading guest memory from the host.  The guest lives in slot 0, which the
 * core creates at guest-physical 0: code at 0x1000, stack at the top of the
 * slot (below 4 GiB, the guest runs in 32-bit mode).
 */
#include "svm_internal.h"
#include <vigil/mm.h>
#include <vigil/string.h>

extern const uint8_t svm_guest_normal[], svm_guest_normal_end[];
extern const uint8_t svm_guest_wild[], svm_guest_wild_end[];
extern const uint8_t svm_guest_bad_insn[], svm_guest_bad_insn_end[];
extern const uint8_t svm_guest_spin[], svm_guest_spin_end[];

/* Code at 0x1000, then at least one page for the stack above it. */
#define SLOT0_MIN_SIZE (SVM_GUEST_ENTRY + 2 * PAGE_SIZE)

int svm_guest_load(struct vm *vm, enum guest_kind kind, uint64_t *rip, uint64_t *rsp, char *why, size_t len)
{
	const uint8_t *code, *end;
	switch (kind) {
	case GUEST_NORMAL:   code = svm_guest_normal;   end = svm_guest_normal_end;   break;
	case GUEST_WILD:     code = svm_guest_wild;     end = svm_guest_wild_end;     break;
	case GUEST_BAD_INSN: code = svm_guest_bad_insn; end = svm_guest_bad_insn_end; break;
	case GUEST_SPIN:     code = svm_guest_spin;     end = svm_guest_spin_end;     break;
	default:
		snprintf(why, len, "unknown guest kind %d", (int)kind);
		return -1;
	}
	const struct vm_slot *s = &vm->slots[0];
	if (!s->used || s->gpa != 0 || s->size < SLOT0_MIN_SIZE) {
		snprintf(why, len, "slot 0 must map guest-physical 0 with at least %lu KiB for the guest",
			 (unsigned long)(SLOT0_MIN_SIZE / 1024));
		return -1;
	}
	memcpy((uint8_t *)phys_to_virt(s->hpa) + SVM_GUEST_ENTRY, code, (size_t)(end - code));
	uint64_t top = MIN(s->size, 1ULL << 32);
	*rip = SVM_GUEST_ENTRY;
	*rsp = top - 16;
	return 0;
}

bool svm_guest_read(const struct vm *vm, uint64_t gpa, void *buf, size_t n)
{
	uint8_t *out = buf;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = gpa + i;
		const struct vm_slot *hit = NULL;
		for (unsigned k = 0; k < VM_MAX_SLOTS && !hit; k++) {
			const struct vm_slot *s = &vm->slots[k];
			if (s->used && a >= s->gpa && a - s->gpa < s->size)
				hit = s;
		}
		if (!hit)
			return false;
		out[i] = *((const uint8_t *)phys_to_virt(hit->hpa) + (a - hit->gpa));
	}
	return true;
}

/*
 * Loading the built-in guest (svm_guest_code.asm) into a VM's memory, and
 * reading guest memory from the host.  The guest lives in slot 0, which the
 * core creates at guest-physical 0: code at 0x1000; the stack at the top of
 * the slot (below 4 GiB, the guest runs in 32-bit mode), or for
 * GUEST_PATTERN a stack and a pattern area per vCPU (guest_pattern_layout(),
 * asm/vexit.h).
 */
#include "svm_internal.h"
#include <asm/vexit.h>
#include <vigil/mm.h>
#include <vigil/string.h>

extern const uint8_t svm_guest_normal[], svm_guest_normal_end[];
extern const uint8_t svm_guest_wild[], svm_guest_wild_end[];
extern const uint8_t svm_guest_bad_insn[], svm_guest_bad_insn_end[];
extern const uint8_t svm_guest_spin[], svm_guest_spin_end[];
extern const uint8_t svm_guest_pattern[], svm_guest_pattern_end[];
extern const uint8_t svm_guest_hcloop[], svm_guest_hcloop_end[];
extern const uint8_t svm_guest_probe[], svm_guest_probe_end[];

_Static_assert(SVM_GUEST_ENTRY == GUEST_CODE_GPA, "one code address for every guest");

/* Code at 0x1000, then at least one page for the stack above it. */
#define SLOT0_MIN_SIZE (SVM_GUEST_ENTRY + 2 * PAGE_SIZE)

int svm_guest_load(struct vm *vm, enum guest_kind kind, unsigned index, unsigned nr, struct svm_guest_start *st,
		   char *why, size_t len)
{
	const uint8_t *code, *end;
	switch (kind) {
	case GUEST_NORMAL:   code = svm_guest_normal;   end = svm_guest_normal_end;   break;
	case GUEST_WILD:     code = svm_guest_wild;     end = svm_guest_wild_end;     break;
	case GUEST_BAD_INSN: code = svm_guest_bad_insn; end = svm_guest_bad_insn_end; break;
	case GUEST_SPIN:     code = svm_guest_spin;     end = svm_guest_spin_end;     break;
	case GUEST_PATTERN:  code = svm_guest_pattern;  end = svm_guest_pattern_end;  break;
	case GUEST_HCLOOP:   code = svm_guest_hcloop;   end = svm_guest_hcloop_end;   break;
	case GUEST_PROBE:    code = svm_guest_probe;    end = svm_guest_probe_end;    break;
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
	memset(st, 0, sizeof(*st));
	st->rip = SVM_GUEST_ENTRY;
	st->rsp = MIN(s->size, 1ULL << 32) - 16;
	if (kind == GUEST_PATTERN) {
		struct guest_pattern_layout l;
		if (guest_pattern_layout(s->size, nr, index, &l, why, len))
			return -1;
		st->rsp = l.stack_top;
		st->rsi = index;
		st->rdi = l.area;
		st->rcx = l.area_size;
	}
	if (kind == GUEST_PROBE)
		st->rdi = GUEST_PROBE_GPA;
	/* Every vCPU of a VM loads the same code: copy it only when it is not
	 * there yet, so that a vCPU created while another runs never has the
	 * bytes it executes rewritten under it. */
	uint8_t *dst = (uint8_t *)phys_to_virt(s->hpa) + SVM_GUEST_ENTRY;
	size_t n = (size_t)(end - code);
	if (memcmp(dst, code, n))
		memcpy(dst, code, n);
	return 0;
}


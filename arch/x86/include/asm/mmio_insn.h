/*
 * The guest instructions an MMIO exit emulates (arch/x86/virt/mmio_insn.c):
 * a guest access outside every memory slot, or a write to a read-only one,
 * exits as a nested page fault, and the host completes the instruction
 * itself -- a load gets MMIO_READ_MARKER, a store is dropped -- then moves
 * RIP past it (docs/design.md, "Memory slots").
 *
 * Deliberately small: the built-in guests run in 32-bit protected mode with
 * flat segments, and only their plain 32-bit moves are understood:
 *   8B /r   MOV r32, r/m32   (a load into register `reg`)
 *   89 /r   MOV r/m32, r32   (a store of register `reg`)
 * with a memory operand (ModRM.mod != 3) in 32-bit addressing, any SIB and
 * displacement (Intel SDM vol 2A, 2.1.5 "Addressing-mode encoding of ModR/M
 * and SIB bytes", tables 2-2 and 2-3).  Anything else (prefixes, other
 * opcodes) is refused, and the guest is stopped with a named error.
 */
#ifndef ASM_MMIO_INSN_H
#define ASM_MMIO_INSN_H
#include <vigil/types.h>

/* What a load from guest-physical memory outside every slot returns: all
 * ones, as a read from an absent device on a PC bus. */
#define MMIO_READ_MARKER 0xFFFFFFFFu

struct mmio_insn {
	unsigned len;              /* bytes: RIP moves this far */
	bool write;                /* MOV r/m32, r32 */
	unsigned reg;              /* ModRM.reg: 0 EAX, 1 ECX, 2 EDX, 3 EBX, 4 ESP, 5 EBP, 6 ESI, 7 EDI */
};

/* Decode the n bytes at the faulting RIP (n <= 15; fewer when the code
 * ends at a slot's end).  0 with *out filled, or -1 with why naming the
 * instruction it cannot emulate. */
int mmio_insn_decode(const uint8_t *b, size_t n, struct mmio_insn *out, char *why, size_t len);

#endif

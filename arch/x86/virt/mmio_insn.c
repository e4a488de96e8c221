/*
 * Decoding the one instruction form an MMIO exit emulates (asm/mmio_insn.h).
 * Pure logic over bytes: the host unit test (tests/unit/test_mmio_insn.c)
 * runs this very file.
 */
#include <asm/mmio_insn.h>
#include <vigil/string.h>

int mmio_insn_decode(const uint8_t *b, size_t n, struct mmio_insn *out, char *why, size_t len)
{
	if (n < 2) {
		snprintf(why, len, "the instruction is cut off (%u bytes readable)", (unsigned)n);
		return -1;
	}
	if (b[0] != 0x8B && b[0] != 0x89) {
		snprintf(why, len, "opcode 0x%02x is not emulated", b[0]);
		return -1;
	}
	uint8_t modrm = b[1];
	unsigned mod = modrm >> 6, rm = modrm & 7;
	if (mod == 3) {
		snprintf(why, len, "mov between registers (ModRM 0x%02x) cannot fault", modrm);
		return -1;
	}
	unsigned at = 2;
	/* 32-bit addressing (SDM vol 2A, table 2-2): rm 4 adds a SIB byte;
	 * mod 0 with rm 5, or with a SIB whose base is 5, a disp32; mod 1 a
	 * disp8, mod 2 a disp32. */
	bool sib_disp32 = false;
	if (rm == 4) {
		if (n < 3) {
			snprintf(why, len, "the instruction is cut off (%u bytes readable)", (unsigned)n);
			return -1;
		}
		sib_disp32 = mod == 0 && (b[2] & 7) == 5;
		at++;
	}
	if (mod == 1)
		at += 1;
	else if (mod == 2 || (mod == 0 && rm == 5) || sib_disp32)
		at += 4;
	if (at > n) {
		snprintf(why, len, "the instruction is cut off (%u of %u bytes readable)", (unsigned)n, at);
		return -1;
	}
	out->len = at;
	out->write = b[0] == 0x89;
	out->reg = (modrm >> 3) & 7;
	return 0;
}

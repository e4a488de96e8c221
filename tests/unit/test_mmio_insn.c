/*
 * arch/x86/virt/mmio_insn.c on the host: the lengths, directions and
 * registers of the MOV forms an MMIO exit emulates, in every 32-bit
 * addressing shape (no displacement, disp8, disp32, SIB, SIB with a disp32
 * base), and the refusals -- other opcodes, prefixes, register operands,
 * instructions cut off by the end of readable memory -- with a message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <asm/mmio_insn.h>

static void ok(const uint8_t *b, size_t n, unsigned len, bool write, unsigned reg)
{
	struct mmio_insn m = { 0 };
	char why[128] = "";
	assert_int_equal(mmio_insn_decode(b, n, &m, why, sizeof(why)), 0);
	assert_int_equal(m.len, len);
	assert_int_equal(m.write, write);
	assert_int_equal(m.reg, reg);
}

static void refused(const uint8_t *b, size_t n, const char *word)
{
	struct mmio_insn m = { 0 };
	char why[128] = "";
	assert_int_equal(mmio_insn_decode(b, n, &m, why, sizeof(why)), -1);
	assert_non_null(strstr(why, word));
}

static void the_probe_guests_moves(void **state)
{
	(void)state;
	const uint8_t store[] = { 0x89, 0x2F };       /* mov [edi], ebp */
	const uint8_t load[] = { 0x8B, 0x17 };        /* mov edx, [edi] */
	ok(store, sizeof(store), 2, true, 5);
	ok(load, sizeof(load), 2, false, 2);
	/* More bytes than the instruction: only its own length counts. */
	const uint8_t more[] = { 0x8B, 0x17, 0x90, 0x90, 0x90 };
	ok(more, sizeof(more), 2, false, 2);
}

static void addressing_shapes(void **state)
{
	(void)state;
	const uint8_t disp8[] = { 0x8B, 0x47, 0x10 };                 /* mov eax, [edi+0x10] */
	const uint8_t disp32[] = { 0x8B, 0x8F, 1, 2, 3, 4 };          /* mov ecx, [edi+disp32] */
	const uint8_t abs32[] = { 0x89, 0x1D, 0, 0, 2, 0 };           /* mov [0x20000], ebx */
	const uint8_t sib[] = { 0x89, 0x1C, 0x0F };                   /* mov [edi+ecx], ebx */
	const uint8_t sib_d8[] = { 0x8B, 0x44, 0x0F, 0x08 };          /* mov eax, [edi+ecx+8] */
	const uint8_t sib_nobase[] = { 0x8B, 0x04, 0x8D, 0, 0, 1, 0 };/* mov eax, [ecx*4+0x10000] */
	ok(disp8, sizeof(disp8), 3, false, 0);
	ok(disp32, sizeof(disp32), 6, false, 1);
	ok(abs32, sizeof(abs32), 6, true, 3);
	ok(sib, sizeof(sib), 3, true, 3);
	ok(sib_d8, sizeof(sib_d8), 4, false, 0);
	ok(sib_nobase, sizeof(sib_nobase), 7, false, 0);
}

static void refusals(void **state)
{
	(void)state;
	const uint8_t moffs[] = { 0xA3, 0, 0, 0, 0x40 };  /* mov [0x40000000], eax: GUEST_WILD's store */
	const uint8_t prefixed[] = { 0x66, 0x89, 0x2F };
	const uint8_t cmp[] = { 0x39, 0x1C, 0x0F };
	const uint8_t regs[] = { 0x89, 0xC8 };             /* mov eax, ecx */
	const uint8_t cut_disp[] = { 0x8B, 0x87, 1, 2 };   /* disp32 with two bytes left */
	const uint8_t cut_sib[] = { 0x8B, 0x04 };
	const uint8_t one[] = { 0x8B };
	refused(moffs, sizeof(moffs), "opcode 0xa3");
	refused(prefixed, sizeof(prefixed), "opcode 0x66");
	refused(cmp, sizeof(cmp), "opcode 0x39");
	refused(regs, sizeof(regs), "between registers");
	refused(cut_disp, sizeof(cut_disp), "cut off");
	refused(cut_sib, sizeof(cut_sib), "cut off");
	refused(one, sizeof(one), "cut off");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_probe_guests_moves),
		cmocka_unit_test(addressing_shapes),
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

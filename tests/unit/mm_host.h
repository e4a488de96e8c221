/*
 * Host stand-ins for what core/mm needs from the kernel, shared by the page
 * allocator and heap tests:
 *  - fake physical memory: an mmap'd arena that pretends to sit at physical
 *    address MM_FAKE_PHYS (4 GiB), behind phys_to_virt()/virt_to_phys();
 *    any other physical address is a test failure when dereferenced;
 *  - panic() that longjmps back into the test when one is expected
 *    (EXPECT_PANIC), and fails the test otherwise;
 *  - printk() (quiet unless VIGIL_TEST_VERBOSE is set) and the interrupt
 *    flag hooks, which track the flag so tests can check every lock path
 *    restores it.
 */
#ifndef TESTS_UNIT_MM_HOST_H
#define TESTS_UNIT_MM_HOST_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define MM_FAKE_PHYS 0x100000000ull

/* (Re)create the arena with this many bytes (and reset both allocators). */
void mm_host_setup(uint64_t arena_bytes);
void mm_host_teardown(void);
/* A pointer to fake physical memory (must lie in the arena). */
void *mm_host_ptr(uint64_t phys);
/* The interrupt flag as the stubbed arch_irq_save/restore left it. */
bool mm_host_irqs_enabled(void);

extern jmp_buf mm_panic_jmp;
extern bool mm_panic_expected;
extern char mm_panic_msg[512];

/* Run stmt, which must panic with a message containing substr; the test
 * continues after it.  Also checks the allocator dropped its lock
 * (interrupts are back on). */
#define EXPECT_PANIC(stmt, substr) do {                                        \
	mm_panic_expected = true;                                              \
	mm_panic_msg[0] = '\0';                                                \
	if (!setjmp(mm_panic_jmp)) {                                           \
		stmt;                                                          \
		mm_panic_expected = false;                                     \
		fail_msg("%s did not panic", #stmt);                           \
	}                                                                      \
	mm_panic_expected = false;                                             \
	if (!strstr(mm_panic_msg, (substr)))                                   \
		fail_msg("%s: panic \"%s\" lacks \"%s\"", #stmt, mm_panic_msg, \
			 (substr));                                            \
	assert_true(mm_host_irqs_enabled());                                   \
} while (0)

/* Small deterministic PRNG (xorshift64*), so failures reproduce. */
static inline uint64_t mm_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

#endif

/* Host stand-ins for core/mm's kernel dependencies: see mm_host.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include <vigil/arch.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/spinlock.h>

#include "mm_host.h"

/* The page allocator test links no heap. */
#pragma weak kmalloc_host_reset

jmp_buf mm_panic_jmp;
bool mm_panic_expected;
char mm_panic_msg[512];

static unsigned char *arena;
static uint64_t arena_size;
/* Each thread is a CPU here, with its own interrupt flag (allocations from
 * several threads at once save and restore it concurrently). */
static _Thread_local bool irqs_on = true;

void mm_host_setup(uint64_t bytes)
{
	mm_host_teardown();
	arena = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		     -1, 0);
	assert_true(arena != MAP_FAILED);
	arena_size = bytes;
	pmm_host_reset();
	if (kmalloc_host_reset)
		kmalloc_host_reset();
	irqs_on = true;
}

void mm_host_teardown(void)
{
	if (arena)
		munmap(arena, arena_size);
	arena = NULL;
	arena_size = 0;
}

void *mm_host_ptr(uint64_t phys)
{
	if (phys < MM_FAKE_PHYS || phys - MM_FAKE_PHYS >= arena_size)
		fail_msg("physical %#llx is outside the fake RAM arena", (unsigned long long)phys);
	return arena + (phys - MM_FAKE_PHYS);
}

void *phys_to_virt(uint64_t phys)
{
	return mm_host_ptr(phys);
}

uint64_t virt_to_phys(const void *virt)
{
	const unsigned char *p = virt;
	if (!arena || p < arena || p >= arena + arena_size)
		panic("virt_to_phys: %p is not in the direct map", virt);
	return MM_FAKE_PHYS + (uint64_t)(p - arena);
}

unsigned long arch_irq_save(void)
{
	unsigned long was = irqs_on;
	irqs_on = false;
	return was;
}

void arch_irq_restore(unsigned long flags)
{
	irqs_on = flags != 0;
}

bool arch_irqs_enabled(void)
{
	return irqs_on;
}

void arch_cpu_relax(void)
{
}

/* The allocators' bare ticket lock saw its owner go past a waiter's ticket:
 * an unlock of a lock nobody held.  Any report is a locking bug. */
void raw_spin_ticket_passed(raw_spinlock_t *l, uint32_t me, uint32_t owner)
{
	fail_msg("spinlock %p: ticket %u passed (owner %u): unlocked while not held", (void *)l, me, owner);
}

bool mm_host_irqs_enabled(void)
{
	return irqs_on;
}

void printk(const char *fmt, ...)
{
	va_list ap;
	if (!getenv("VIGIL_TEST_VERBOSE"))
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(mm_panic_msg, sizeof(mm_panic_msg), fmt, ap);
	va_end(ap);
	if (mm_panic_expected) {
		mm_panic_expected = false;
		longjmp(mm_panic_jmp, 1);
	}
	fail_msg("unexpected panic: %s", mm_panic_msg);
	abort(); /* fail_msg does not return; panic must not either */
}

/*
 * Kernel task stacks mapped with a guard page (include/vigil/arch.h).
 *
 * Stacks live in their own window of the kernel half, each one above a page
 * left unmapped: a task that runs off the bottom of its stack faults on the
 * guard page at once, instead of writing over whatever the direct map has
 * below it.  The #PF cannot be delivered on the overflowed stack (pushing
 * its frame faults again), so the CPU raises #DF, which runs on its own IST
 * stack (gdt.c) and reports the task (traps.c, sched_describe_guard_page).
 * SDM vol 3, 6.15 "Interrupt 8 -- Double Fault Exception": a #PF while
 * delivering a #PF is a double fault.
 */
#include <asm/paging.h>
#include <vigil/arch.h>
#include <vigil/spinlock.h>

/* 64 GiB of address space: 20 KiB per 16 KiB stack, over three million stacks. */
#define STACK_AREA_BASE 0xFFFFC80000000000ULL
#define STACK_AREA_SIZE (64ULL << 30)


static raw_spinlock_t stack_area_lock = RAW_SPIN_LOCK_UNLOCKED;
static uint64_t stack_area_next = STACK_AREA_BASE;

void *arch_stack_map(uint64_t phys, size_t bytes)
{
	bytes = ALIGN_UP(bytes, PAGE_SIZE);
	unsigned long flags = arch_irq_save();
	__raw_spin_lock(&stack_area_lock);
	uint64_t guard = stack_area_next;
	if (guard + PAGE_SIZE + bytes > STACK_AREA_BASE + STACK_AREA_SIZE) {
		__raw_spin_unlock(&stack_area_lock);
		arch_irq_restore(flags);
		return NULL;
	}
	stack_area_next += PAGE_SIZE + bytes;
	uint64_t base = guard + PAGE_SIZE;
	/* Not present -> present needs no TLB flush anywhere (SDM vol 3,
	 * 4.10.4.3), and the page-table walk is serialised by the lock. */
	for (uint64_t off = 0; off < bytes; off += PAGE_SIZE)
		paging_map_kernel_page(base + off, phys + off);
	__raw_spin_unlock(&stack_area_lock);
	arch_irq_restore(flags);
	return (void *)base;
}

/* The include/vigil/arch.h hooks that core/ uses, for x86. */
#include <asm/cpu.h>
#include <vigil/arch.h>
#include <vigil/fbcon.h>
#include <vigil/uart.h>

void arch_console_write(const char *s, size_t n)
{
	uart_write(s, n);
	fbcon_write(s, n);
}

int arch_console_getc(void)
{
	return uart_getc();
}

void arch_idle(void)
{
	/* sti; hlt back to back: the interrupt shadow of STI guarantees no
	 * interrupt slips in between (SDM vol 2, STI), so we cannot sleep
	 * through a wake-up that arrived just before. */
	__asm__ volatile("sti; hlt" ::: "memory");
}

unsigned long arch_irq_save(void)
{
	unsigned long flags = read_rflags();
	cli();
	return flags & X86_RFLAGS_IF;
}

void arch_irq_restore(unsigned long flags)
{
	if (flags & X86_RFLAGS_IF)
		sti();
}

bool arch_irqs_enabled(void)
{
	return read_rflags() & X86_RFLAGS_IF;
}

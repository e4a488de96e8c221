/*
 * Exception and interrupt dispatch.  An unexpected exception is fatal: we
 * print the vector, error code, every register and a symbolic backtrace, then
 * stop the machine with a failure status (arch_poweroff(1): under QEMU the
 * isa-debug-exit device turns that into QEMU's exit status).
 */
#include <asm/trap.h>
#include <asm/cpu.h>
#include <asm/apic.h>
#include <vigil/arch.h>
#include <vigil/ksyms.h>
#include <vigil/panic.h>
#include <vigil/printk.h>
#include <vigil/task.h>
#include <asm/percpu.h>

static irq_handler_t irq_handlers[256];
extern const struct extable_entry __start_ex_table[], __stop_ex_table[];

static const char *const exception_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 FP error", "alignment check", "machine check",
	"SIMD FP error", "virtualization", "control protection", "reserved", "reserved",
	"reserved", "reserved", "reserved", "reserved", "hypervisor injection",
	"VMM communication", "security", "reserved",
};

void irq_register(unsigned vector, irq_handler_t h)
{
	irq_handlers[vector] = h;
}

static bool fixup_exception(struct trap_frame *tf)
{
	for (const struct extable_entry *e = __start_ex_table; e < __stop_ex_table; e++) {
		if (e->insn == tf->rip) {
			tf->rip = e->fixup;
			return true;
		}
	}
	return false;
}

static void print_symbol(const char *prefix, uint64_t addr)
{
	uint64_t off;
	const char *name = ksym_lookup(addr, &off);
	if (name)
		printk("%s0x%016lx %s+0x%lx\n", prefix, addr, name, off);
	else
		printk("%s0x%016lx ?\n", prefix, addr);
}

/* Walk the frame-pointer chain (the kernel is built with frame pointers). */
void backtrace_from(uint64_t rbp, uint64_t rip)
{
	printk("Backtrace:\n");
	print_symbol("  ", rip);
	for (int depth = 0; depth < 32 && rbp; depth++) {
		/* Only follow frames inside the kernel's address space. */
		if (rbp < 0xFFFF800000000000ULL || (rbp & 7))
			break;
		uint64_t *frame = (uint64_t *)rbp;
		uint64_t ret = frame[1];
		if (!ret)
			break;
		print_symbol("  ", ret);
		rbp = frame[0];
	}
}

void arch_dump_stack(void)
{
	uint64_t rbp;
	__asm__ volatile("mov %%rbp, %0" : "=r"(rbp));
	/* Start at our caller: its frame is the one our saved rbp points to. */
	backtrace_from(*(uint64_t *)rbp, (uint64_t)__builtin_return_address(0));
}

void trap_dump(const struct trap_frame *tf)
{
	printk("RIP %04lx:%016lx RFLAGS %016lx error %016lx\n", tf->cs, tf->rip, tf->rflags, tf->error_code);
	printk("RSP %04lx:%016lx CR2 %016lx CR3 %016lx\n", tf->ss, tf->rsp, read_cr2(), read_cr3());
	printk("RAX %016lx RBX %016lx RCX %016lx RDX %016lx\n", tf->rax, tf->rbx, tf->rcx, tf->rdx);
	printk("RSI %016lx RDI %016lx RBP %016lx R8  %016lx\n", tf->rsi, tf->rdi, tf->rbp, tf->r8);
	printk("R9  %016lx R10 %016lx R11 %016lx R12 %016lx\n", tf->r9, tf->r10, tf->r11, tf->r12);
	printk("R13 %016lx R14 %016lx R15 %016lx CR0 %016lx CR4 %016lx\n", tf->r13, tf->r14, tf->r15,
	       read_cr0(), read_cr4());
	backtrace_from(tf->rbp, tf->rip);
}

void trap_dispatch(struct trap_frame *tf)
{
	unsigned v = (unsigned)tf->vector;

	if (irq_handlers[v]) {
		struct percpu *pc = this_cpu();
		pc->irq_depth++;
		irq_handlers[v](tf);
		pc->irq_depth--;
		/* Preempt on the way out of the outermost interrupt, if the
		 * interrupted code could have been preempted anyway (interrupts
		 * were on; preempt_count checked by the scheduler). */
		if (v >= VEC_IRQ_BASE && pc->irq_depth == 0 && (tf->rflags & X86_RFLAGS_IF) &&
		    sched_should_preempt())
			sched_preempt_irq();
		return;
	}
	if (v == VEC_SPURIOUS)
		return; /* spurious LAPIC interrupts need no EOI (SDM vol 3, 11.9) */
	if (v == VEC_GP && fixup_exception(tf))
		return;
	if (v < 32) {
		/* A page fault on a stack's guard page cannot be delivered on
		 * that stack; it arrives here as #DF with CR2 in the guard page
		 * (arch/x86/stack_map.c).  Say what it was before the registers. */
		char who[96];
		if ((v == 8 || v == 14) && sched_describe_guard_page(read_cr2(), who, sizeof(who)))
			printk("BUG: stack overflow: %s ran off the bottom of its stack into the guard page at 0x%lx\n",
			       who, read_cr2());
		printk("exception %lu (%s) in kernel mode\n", tf->vector, exception_names[v]);
		trap_dump(tf);
		panic_backtrace_done = true;
		panic("unhandled exception %lu (%s) at %s", tf->vector, exception_names[v],
		      ksym_lookup(tf->rip, &(uint64_t){0}) ?: "?");
	}
	printk("unexpected interrupt vector %u\n", v);
	lapic_eoi();
}

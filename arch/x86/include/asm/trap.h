/* Interrupt/exception frames and the IDT (Intel SDM vol 3, ch. 6). */
#ifndef ASM_TRAP_H
#define ASM_TRAP_H
#include <vigil/types.h>

/* Layout pushed by isr.asm; keep in sync with isr_common there. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

#define VEC_NMI          2
#define VEC_DOUBLE_FAULT 8
#define VEC_GP           13
#define VEC_PAGE_FAULT   14
#define VEC_MACHINE_CHECK 18
#define VEC_IRQ_BASE     32
#define VEC_LAPIC_TIMER  0xEC
#define VEC_LAPIC_ERROR  0xFE
#define VEC_SPURIOUS     0xFF

typedef void (*irq_handler_t)(struct trap_frame *tf);
void idt_init(void);
void idt_load(void);
void irq_register(unsigned vector, irq_handler_t h);

/* Recoverable faults: a handler can ask to resume at a fixup address.  Used
 * by rdmsr_safe() and friends (fault -> return error instead of dying). */
struct extable_entry { uint64_t insn, fixup; };
void trap_dump(const struct trap_frame *tf);
void backtrace_from(uint64_t rbp, uint64_t rip);
#endif

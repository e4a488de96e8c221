/* The IDT: 256 interrupt gates pointing at the stubs in isr.asm
 * (SDM vol 3, 6.14.1 "64-bit mode IDT"). */
#include <asm/trap.h>
#include <asm/segment.h>

struct idt_gate {
	uint16_t off_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern const uint64_t isr_stub_table[256];

static void set_gate(unsigned v, uint64_t handler, unsigned ist)
{
	idt[v].off_lo = handler & 0xFFFF;
	idt[v].selector = GDT_KERNEL_CS;
	idt[v].ist = ist;
	idt[v].type_attr = 0x8E; /* present, DPL0, 64-bit interrupt gate (IF cleared on entry) */
	idt[v].off_mid = (handler >> 16) & 0xFFFF;
	idt[v].off_hi = handler >> 32;
	idt[v].zero = 0;
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		set_gate(v, isr_stub_table[v], 0);
	set_gate(VEC_DOUBLE_FAULT, isr_stub_table[VEC_DOUBLE_FAULT], IST_DOUBLE_FAULT);
	set_gate(VEC_NMI, isr_stub_table[VEC_NMI], IST_NMI);
	set_gate(VEC_MACHINE_CHECK, isr_stub_table[VEC_MACHINE_CHECK], IST_MACHINE_CHECK);
}

void idt_load(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" :: "m"(d));
}

/*
 * Per-CPU GDT and TSS.  Long mode ignores segment bases and limits for CS/DS
 * (SDM vol 3, 3.4.5 and 5.2.1), so the GDT only needs flat code/data and the
 * TSS, whose interrupt stack table gives double fault, NMI and machine check
 * their own known-good stacks (SDM vol 3, 6.14.5 "Interrupt stack table").
 */
#include <asm/segment.h>
#include <asm/cpu.h>
#include <vigil/config.h>
#include <vigil/string.h>
#include <vigil/printk.h>

struct gdt_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

struct cpu_gdt {
	uint64_t entries[5];   /* null, code, data, tss low, tss high */
	struct tss64 tss;
} __attribute__((aligned(16)));

static struct cpu_gdt cpu_gdts[CONFIG_MAX_CPUS];
/* The boot CPU's IST stacks are static; APs get theirs from arch_cpu_prepare. */
static uint8_t boot_ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));
static uint8_t *ist_stack_base[CONFIG_MAX_CPUS][3];

void gdt_set_ist_stacks(unsigned cpu, uint8_t *df, uint8_t *nmi, uint8_t *mce)
{
	ist_stack_base[cpu][0] = df;
	ist_stack_base[cpu][1] = nmi;
	ist_stack_base[cpu][2] = mce;
}

void gdt_init_cpu(unsigned cpu)
{
	struct cpu_gdt *g = &cpu_gdts[cpu];
	if (cpu == 0 && !ist_stack_base[0][0])
		gdt_set_ist_stacks(0, boot_ist_stacks[0], boot_ist_stacks[1], boot_ist_stacks[2]);
	BUG_ON(!ist_stack_base[cpu][0]);

	memset(g, 0, sizeof(*g));
	g->entries[1] = 0x00AF9A000000FFFFULL; /* 64-bit code: L=1, P=1, DPL0, exec/read */
	g->entries[2] = 0x00CF92000000FFFFULL; /* data: P=1, DPL0, read/write */
	for (int i = 0; i < 3; i++)
		g->tss.ist[i] = (uint64_t)(ist_stack_base[cpu][i] + IST_STACK_SIZE);
	g->tss.iomap_base = sizeof(struct tss64); /* no I/O bitmap */

	uint64_t base = (uint64_t)&g->tss, limit = sizeof(struct tss64) - 1;
	g->entries[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ULL << 40) /* avail 64-bit TSS, P */
		| (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
	g->entries[4] = base >> 32;

	struct gdt_desc d = { sizeof(g->entries) - 1, (uint64_t)g->entries };
	__asm__ volatile("lgdt %0\n"
			 "mov %1, %%ds\n mov %1, %%es\n mov %1, %%ss\n"
			 "xor %%eax, %%eax\n mov %%eax, %%fs\n mov %%eax, %%gs\n"
			 "pushq %2\n"
			 "leaq 1f(%%rip), %%rax\n"
			 "pushq %%rax\n"
			 "lretq\n"
			 "1:\n"
			 "ltr %w3\n"
			 :: "m"(d), "r"((uint64_t)GDT_KERNEL_DS), "i"(GDT_KERNEL_CS), "r"(GDT_TSS)
			 : "rax", "memory");
}

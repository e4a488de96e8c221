/* GDT selectors and TSS (Intel SDM vol 3, 3.4 and 8.7 "Task management in 64-bit mode"). */
#ifndef ASM_SEGMENT_H
#define ASM_SEGMENT_H
#include <vigil/types.h>

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS       0x18   /* 16-byte descriptor: occupies two slots */

/* Interrupt stack table slots (1-based as in the IDT gate). */
#define IST_DOUBLE_FAULT 1
#define IST_NMI          2
#define IST_MACHINE_CHECK 3
#define IST_STACK_SIZE   (16 * 1024)

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

void gdt_init_cpu(unsigned cpu);
/* Give a CPU's TSS its double-fault, NMI and machine-check stacks (gdt.c). */
void gdt_set_ist_stacks(unsigned cpu, uint8_t *df, uint8_t *nmi, uint8_t *mce);
#endif

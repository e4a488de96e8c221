/*
 * The guest-physical address width slots may use: what the nested page
 * tables can translate and what the guest can address.  Both backends build
 * 4-level nested tables, whose input is a 48-bit guest-physical address
 * (SDM vol 3C 29.3.2 "EPT Translation Mechanism"; APM vol 2 15.25.5 "Nested
 * Table Walk", which walks the guest-physical address like a long-mode
 * linear one), and the guest sees the host's MAXPHYADDR, CPUID
 * 0x80000008 EAX[7:0] (SDM vol 2A "CPUID", leaf 80000008H), so a slot above
 * either could never be reached.
 */
#include <asm/cpu.h>
#include <vigil/memslot.h>

#define NESTED_PAGING_INPUT_BITS 48

unsigned arch_virt_gpa_bits(void)
{
	unsigned bits = MEMSLOT_GPA_BITS_DEFAULT;
	if (cpuid(0x80000000).eax >= 0x80000008)
		bits = cpuid(0x80000008).eax & 0xFF;
	return MIN(bits, NESTED_PAGING_INPUT_BITS);
}

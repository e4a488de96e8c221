/*
 * CPUID for the built-in guest, shared by both backends so that their
 * answers cannot drift apart.  CPUID exits unconditionally under VMX (Intel
 * SDM vol 3C, 26.1.2) and is intercepted under SVM (AMD APM vol 2, 15.11);
 * either way the exit handler puts this answer into the guest's registers.
 *
 * The hypervisor range 0x40000000-0x400000FF is reserved for software (SDM
 * vol 2A, CPUID: "Invalid" leaves; the same convention on AMD), and leaf 1
 * ECX bit 31 is the "hypervisor present" bit guests look at.
 */
#include <asm/guest_cpuid.h>
#include <asm/svm.h>
#include <asm/vmx.h>
#include <vigil/string.h>

struct cpuid_regs guest_cpuid(uint32_t leaf, uint32_t sub, const char signature[12])
{
	struct cpuid_regs c;
	if (leaf == GUEST_CPUID_VIGIL_LEAF) {
		c.eax = GUEST_CPUID_VIGIL_LEAF;
		memcpy(&c.ebx, signature, 4);
		memcpy(&c.ecx, signature + 4, 4);
		memcpy(&c.edx, signature + 8, 4);
		return c;
	}
	if ((leaf & 0xFFFFFF00u) == GUEST_CPUID_VIGIL_LEAF) {
		c.eax = c.ebx = c.ecx = c.edx = 0;
		return c;
	}
	c = cpuid_count(leaf, sub);
	if (leaf == 1) {
		c.ecx &= ~CPUID_1_ECX_VMX;
		c.ecx |= CPUID_1_ECX_HYPERVISOR;
	}
	if (leaf == CPUID_EXT_FEATURES)
		c.ecx &= ~CPUID_EXT1_ECX_SVM;
	return c;
}

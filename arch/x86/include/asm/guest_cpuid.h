/* The CPUID answers the built-in guest gets, one table for VMX and SVM. */
#ifndef ASM_GUEST_CPUID_H
#define ASM_GUEST_CPUID_H
#include <asm/cpu.h>

/* vigil's own leaf in the range hardware leaves to hypervisors: EAX the
 * highest hypervisor leaf, EBX:ECX:EDX a 12-character signature. */
#define GUEST_CPUID_VIGIL_LEAF 0x40000000u

/* The answer to CPUID (leaf, sub) in a guest: vigil's leaf with the
 * backend's signature (12 characters), zeros in the rest of the hypervisor
 * range, and otherwise the host's values with the "running under a
 * hypervisor" bit set and both virtualization extensions hidden (the guest
 * gets no nested virtualization of either kind). */
struct cpuid_regs guest_cpuid(uint32_t leaf, uint32_t sub, const char signature[12]);
#endif

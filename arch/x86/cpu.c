/* CPU identification and fault-tolerant MSR access. */
#include <asm/cpu.h>
#include <vigil/string.h>

struct cpu_features boot_cpu;

static void copy_regs_string(char *dst, const uint32_t *regs, int n)
{
	memcpy(dst, regs, (size_t)n * 4);
	dst[n * 4] = 0;
}

void cpu_identify(void)
{
	struct cpuid_regs r = cpuid(0);
	uint32_t v[3] = { r.ebx, r.edx, r.ecx };
	boot_cpu.max_leaf = r.eax;
	copy_regs_string(boot_cpu.vendor, v, 3);
	boot_cpu.is_intel = !strcmp(boot_cpu.vendor, "GenuineIntel");
	boot_cpu.is_amd = !strcmp(boot_cpu.vendor, "AuthenticAMD");
	boot_cpu.is_hygon = !strcmp(boot_cpu.vendor, "HygonGenuine");

	r = cpuid(1);
	/* SDM vol 2, CPUID: the extended family adds only when the base is 0xF. */
	boot_cpu.family = (r.eax >> 8) & 0xF;
	if (boot_cpu.family == 0xF)
		boot_cpu.family += (r.eax >> 20) & 0xFF;
	boot_cpu.x2apic = r.ecx & (1u << 21);
	boot_cpu.tsc_deadline = r.ecx & (1u << 24);
	boot_cpu.hypervisor = r.ecx & (1u << 31);
	if (boot_cpu.hypervisor) {
		struct cpuid_regs h = cpuid(0x40000000);
		uint32_t hv[3] = { h.ebx, h.ecx, h.edx };
		copy_regs_string(boot_cpu.hypervisor_id, hv, 3);
	}

	r = cpuid(0x80000000);
	boot_cpu.max_ext_leaf = r.eax;
	if (boot_cpu.max_ext_leaf >= 0x80000001) {
		r = cpuid(0x80000001);
		boot_cpu.nx = r.edx & (1u << 20);
		boot_cpu.pdpe1gb = r.edx & (1u << 26);
	}
	if (boot_cpu.max_ext_leaf >= 0x80000004) {
		uint32_t b[12];
		for (int i = 0; i < 3; i++) {
			r = cpuid(0x80000002 + i);
			b[i * 4] = r.eax; b[i * 4 + 1] = r.ebx; b[i * 4 + 2] = r.ecx; b[i * 4 + 3] = r.edx;
		}
		copy_regs_string(boot_cpu.brand, b, 12);
	}
	if (boot_cpu.max_ext_leaf >= 0x80000007)
		boot_cpu.invariant_tsc = cpuid(0x80000007).edx & (1u << 8);
}

/*
 * RDMSR of an unimplemented MSR raises #GP (SDM vol 2, RDMSR).  The fault
 * handler looks the faulting RIP up in ex_table and resumes at the fixup,
 * which reports the failure instead of killing the kernel.
 */
int rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;
	int err = 0;
	__asm__ volatile("1: rdmsr\n"
			 ASM_GP_FIXUP("%2", "-1")
			 : "=a"(lo), "=d"(hi), "+r"(err)
			 : "c"(msr));
	*val = ((uint64_t)hi << 32) | lo;
	return err;
}

/* WRMSR that survives a #GP (reserved bits, an MSR the CPU refuses, such as
 * EFER.SVME when SVM is disabled): returns 0 on success, -1 on the fault. */
int wrmsr_safe(uint32_t msr, uint64_t val)
{
	int err = 0;
	__asm__ volatile("1: wrmsr\n"
			 ASM_GP_FIXUP("%0", "-1")
			 : "+r"(err)
			 : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
			 : "memory");
	return err;
}

__noreturn void halt_forever(void)
{
	for (;;) {
		cli();
		hlt();
	}
}

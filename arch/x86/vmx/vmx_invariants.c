/*
 * `check` (include/vigil/check.h): the per-CPU lists of active VMCSs agree
 * with the CPUs.  A VMCS on the list of a CPU that is offline or not in
 * VMX operation was lost (VMXOFF without VMCLEAR, 25.1: its state never
 * reaches memory); a VMCS on two CPUs' lists is active on two CPUs at once,
 * which 25.11.1 forbids (the two caches would each write back their own
 * copy).
 *
 * The lists change under the scan (vCPUs move, CPUs disable): every change
 * is counted (vmx_loaded.c), and a scan during which the count moved is
 * done again.  Under a steady stream of changes the answer after a bounded
 * number of tries says so rather than guess.
 */
#include "vmx_internal.h"
#include <vigil/atomic.h>
#include <vigil/check.h>
#include <vigil/cpu.h>
#include <vigil/cpuhp_lock.h>
#include <vigil/string.h>

#define SCAN_TRIES 1000

/* 0 consistent, -1 a broken rule (why). */
static int scan(char *why, size_t len)
{
	for (unsigned c = 0; c < nr_possible_cpus && c < CONFIG_MAX_CPUS; c++) {
		const struct vmx_cpu *st = &vmx_cpus[c];
		int state = __atomic_load_n(&st->state, __ATOMIC_ACQUIRE);
		bool online = cpu_is_online(c);
		for (int i = 0; i < VMX_MAX_LOADED; i++) {
			uint64_t pa = __atomic_load_n(&st->loaded[i], __ATOMIC_RELAXED);
			if (!pa)
				continue;
			if (!online || state != VMX_CPU_ON) {
				snprintf(why, len, "cpu %u: VMCS 0x%lx active on a CPU that is %s", c, (unsigned long)pa,
					 !online ? "offline" : "not in VMX operation");
				return -1;
			}
			for (unsigned o = c + 1; o < nr_possible_cpus && o < CONFIG_MAX_CPUS; o++)
				if (vmx_loaded_has(o, pa)) {
					snprintf(why, len, "VMCS 0x%lx active on cpu %u and cpu %u", (unsigned long)pa, c,
						 o);
					return -1;
				}
		}
	}
	return 0;
}

int vmx_vmcs_lists_check(char *why, size_t len)
{
	cpus_read_lock();
	int r = 1;
	for (unsigned t = 0; t < SCAN_TRIES && r > 0; t++) {
		uint64_t g0, g1;
		if (t)
			cpu_relax();
		if (!vmx_loaded_stable(&g0))
			continue;
		int s = scan(why, len);
		if (!vmx_loaded_stable(&g1) || g1 != g0)
			continue;  /* raced with a change: scan again */
		r = s;
	}
	cpus_read_unlock();
	if (r > 0) {
		snprintf(why, len, "the VMCS lists kept changing during %u scans", SCAN_TRIES);
		return -1;
	}
	return r;
}
INVARIANT(vmx_vmcs_lists, vmx_vmcs_lists_check);

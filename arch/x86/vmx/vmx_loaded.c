/*
 * The VMCSs active on each CPU (Intel SDM vol 3C, 25.1 "Overview": a VMCS
 * is active on the processor that last VMPTRLDed it until VMCLEAR; 25.11.1
 * "Software use of virtual-machine control structures": a VMCS active on
 * one processor must not be made active on another without a VMCLEAR on
 * the first, and its state may be lost if VMXOFF runs while it is active).
 *
 * Each CPU keeps a fixed list of the VMCSs active on it (struct vmx_cpu):
 * only that CPU writes its list, always with interrupts off, so the only
 * concurrent user on the same CPU is an NMI's emergency disable, which
 * VMCLEARs whatever it finds.  A slot is filled before VMPTRLD and emptied
 * after VMCLEAR: an NMI in between VMCLEARs a VMCS that may not be active
 * yet, which is harmless (VMCLEAR of an inactive, well-formed region only
 * writes its launch state).
 *
 * Other CPUs read the lists only for the `check` invariant; for it every
 * change is bracketed by a global counter pair (change_begin/end) so the
 * checker can tell a scan that raced with a change from a real error.
 */
#include "vmx_internal.h"
#include <asm/percpu.h>
#include <vigil/sched.h>
#include <vigil/string.h>

#define barrier() __asm__ volatile("" ::: "memory")

/* Changes in progress, and changes finished (both only ever grow/return). */
static int changing;
static uint64_t generation;

void vmx_loaded_change_begin(void)
{
	__atomic_add_fetch(&changing, 1, __ATOMIC_SEQ_CST);
}

void vmx_loaded_change_end(void)
{
	__atomic_add_fetch(&generation, 1, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&changing, 1, __ATOMIC_SEQ_CST);
}

/* false while a change is in progress; else true with the number of
 * changes finished in *gen.  The checker calls it before and after its
 * scan: the scan is consistent when both return true with the same *gen. */
bool vmx_loaded_stable(uint64_t *gen)
{
	if (__atomic_load_n(&changing, __ATOMIC_SEQ_CST))
		return false;
	*gen = __atomic_load_n(&generation, __ATOMIC_SEQ_CST);
	return !__atomic_load_n(&changing, __ATOMIC_SEQ_CST);
}

int vmx_make_current(uint64_t pa)
{
	struct vmx_cpu *st = &vmx_cpus[smp_processor_id()];
	if (st->current_vmcs == pa)
		return VMX_OK;
	int r = vmptrld(pa);
	st->current_vmcs = r == VMX_OK ? pa : 0;
	return r;
}

int vmx_loaded_add(uint64_t pa, bool fresh, int *slot_out, char *why, size_t len)
{
	unsigned cpu = smp_processor_id();
	struct vmx_cpu *st = &vmx_cpus[cpu];
	int slot = -1;
	for (int i = 0; i < VMX_MAX_LOADED; i++) {
		if (st->loaded[i] == pa) {
			snprintf(why, len, "VMCS 0x%lx is already active on CPU %u", (unsigned long)pa, cpu);
			return -1;
		}
		if (!st->loaded[i] && slot < 0)
			slot = i;
	}
	vmx_loaded_change_begin();
	if (slot < 0) {
		/* Full: VMCLEAR the one loaded longest ago.  Its owner finds
		 * it gone from this list at its next load and loads it again
		 * (VMLAUNCH: VMCLEAR made its launch state "clear"). */
		slot = 0;
		for (int i = 1; i < VMX_MAX_LOADED; i++)
			if (st->loaded_stamp[i] < st->loaded_stamp[slot])
				slot = i;
		uint64_t old = st->loaded[slot];
		(void)vmclear(old);
		if (st->current_vmcs == old)
			st->current_vmcs = 0;
		barrier();
		st->loaded[slot] = 0;
	}
	st->loaded_stamp[slot] = ++st->stamp;
	st->loaded[slot] = pa;
	barrier();
	int r = fresh ? vmclear(pa) : VMX_OK;
	const char *what = "VMCLEAR";
	if (r == VMX_OK) {
		st->current_vmcs = 0;
		r = vmptrld(pa);
		what = "VMPTRLD";
	}
	if (r != VMX_OK) {
		unsigned err = r == VMX_FAIL_VALID ? (unsigned)vmread(VM_INSTRUCTION_ERROR) : 0;
		(void)vmclear(pa);
		barrier();
		st->loaded[slot] = 0;
		vmx_loaded_change_end();
		snprintf(why, len, "%s of VMCS 0x%lx on CPU %u failed (%s, VM-instruction error %u: %s)", what,
			 (unsigned long)pa, cpu, r == VMX_FAIL_VALID ? "VMfailValid" : "VMfailInvalid", err,
			 vmx_insn_error_name(err));
		return -1;
	}
	st->current_vmcs = pa;
	vmx_loaded_change_end();
	if (slot_out)
		*slot_out = slot;
	return 0;
}

bool vmx_loaded_clear(uint64_t pa)
{
	struct vmx_cpu *st = &vmx_cpus[smp_processor_id()];
	for (int i = 0; i < VMX_MAX_LOADED; i++) {
		if (st->loaded[i] != pa)
			continue;
		vmx_loaded_change_begin();
		/* disable() empties the list before VMXOFF: on the list means
		 * VMX is on, unless an emergency is taking the CPU down. */
		if (vmx_this_cpu_on())
			(void)vmclear(pa);
		if (st->current_vmcs == pa)
			st->current_vmcs = 0;
		barrier();
		st->loaded[i] = 0;
		vmx_loaded_change_end();
		return true;
	}
	return false;
}

unsigned vmx_loaded_clear_all(bool in_vmx)
{
	struct vmx_cpu *st = &vmx_cpus[this_cpu()->cpu];
	unsigned n = 0;
	vmx_loaded_change_begin();
	for (int i = 0; i < VMX_MAX_LOADED; i++) {
		uint64_t pa = st->loaded[i];
		if (!pa)
			continue;
		if (in_vmx)
			(void)vmclear(pa);
		barrier();
		st->loaded[i] = 0;
		n++;
	}
	st->current_vmcs = 0;
	vmx_loaded_change_end();
	return n;
}

bool vmx_loaded_has(unsigned cpu, uint64_t pa)
{
	if (cpu >= CONFIG_MAX_CPUS || !pa)
		return false;
	const struct vmx_cpu *st = &vmx_cpus[cpu];
	for (int i = 0; i < VMX_MAX_LOADED; i++)
		if (__atomic_load_n(&st->loaded[i], __ATOMIC_RELAXED) == pa)
			return true;
	return false;
}

unsigned vmx_loaded_count(unsigned cpu)
{
	unsigned n = 0;
	if (cpu >= CONFIG_MAX_CPUS)
		return 0;
	for (int i = 0; i < VMX_MAX_LOADED; i++)
		n += __atomic_load_n(&vmx_cpus[cpu].loaded[i], __ATOMIC_RELAXED) != 0;
	return n;
}

/*
 * Extended page tables: guest-physical -> host-physical for a VM's memory
 * slots (Intel SDM vol 3C, 29.3 "The extended page table mechanism
 * (EPT)"), built by the shared walker (asm/pt_walk.h) with EPT's entry
 * format.  Four levels (PML4, PDPT, PD, PT), 4 KiB leaves only, every page
 * readable, writable and executable, write-back.
 *
 * Invalidation (29.4.3 "Invalidating cached translation information"):
 * the CPU caches guest-physical mappings tagged with the EPTP, on every CPU
 * that ran the VM.  The core never changes a slot while one of the VM's
 * vCPUs runs (it inhibits runs first), so it is enough to INVEPT on the CPU
 * that changes the mapping, if VMX is on there, and to INVEPT again at the
 * start of every vcpu_run: whichever CPU runs the VM next drops what it may
 * have cached from an earlier run, and a new VM that gets a freed PML4 page
 * (hence the same EPTP) starts clean too.
 */
#include "vmx_internal.h"
#include <vigil/sched.h>

/* EPT paging-structure entries (29.3.2, tables 29-1 to 29-6). */
#define EPT_R        (1ULL << 0)
#define EPT_W        (1ULL << 1)
#define EPT_X        (1ULL << 2)
#define EPT_RWX      (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT 3             /* leaf: memory type, bits 5:3 */
/* EPTP (25.6.11): memory type in bits 2:0, walk length - 1 in bits 5:3. */
#define EPTP_WALK_4  (3ULL << 3)

/* An entry is present when any of bits 2:0 is set (29.3.2); non-leaf
 * entries grant everything, the leaf decides. */
static const struct pt_format ept_format = PT_GUEST_FORMAT(EPT_RWX, EPT_RWX);

int vmx_ept_init(struct vmx_vm *v)
{
	if (pt_init(&v->ept, &ept_format, &pt_mem_pmm))
		return -1;
	/* 25.6.11 "Extended-page-table pointer (EPTP)": no accessed/dirty
	 * flags (bit 6 clear), 4-level walk, the paging structures' memory
	 * type as IA32_VMX_EPT_VPID_CAP allows (WB, else UC). */
	v->eptp = v->ept.root | EPTP_WALK_4 | vmx_caps.eptp_memtype;
	return 0;
}

void vmx_ept_flush_local(const struct vmx_vm *v)
{
	(void)invept(vmx_caps.invept_type, v->eptp);
}

/* INVEPT where the mapping changed, if this CPU is in VMX operation. */
static void flush_here(const struct vmx_vm *v)
{
	preempt_disable();
	if (vmx_this_cpu_on())
		vmx_ept_flush_local(v);
	preempt_enable();
}

int vmx_ept_map(struct vmx_vm *v, uint64_t gpa, uint64_t hpa, uint64_t size, char *why, size_t len)
{
	/* Leaves: read/write/execute, write-back (29.3.6.2 "Memory type
	 * used for translated guest-physical addresses").  Mappings only
	 * appear: nothing cached can be stale (the CPU does not cache
	 * not-present EPT entries, 29.4.2). */
	return pt_map(&v->ept, gpa, hpa, size, EPT_RWX | ((uint64_t)VMX_MEMTYPE_WB << EPT_MT_SHIFT), why, len);
}

int vmx_ept_map_page(struct vmx_vm *v, uint64_t gpa, uint64_t hpa, bool writable)
{
	uint64_t *e = pt_entry(&v->ept, gpa, 1, true);
	if (!e)
		return -WHY_NOMEM;
	uint64_t rights = writable ? EPT_RWX : (EPT_R | EPT_X);
	__atomic_store_n(e, (hpa & PT_ADDR_MASK) | rights | ((uint64_t)VMX_MEMTYPE_WB << EPT_MT_SHIFT),
			 __ATOMIC_RELAXED);
	return 0;
}

void vmx_ept_unmap(struct vmx_vm *v, uint64_t gpa, uint64_t size)
{
	pt_unmap(&v->ept, gpa, size);
	flush_here(v);
}

void vmx_ept_free(struct vmx_vm *v)
{
	flush_here(v);
	pt_destroy(&v->ept);
}

/*
 * Extended page tables: guest-physical -> host-physical for a VM's memory
 * slots (Intel SDM vol 3C, 29.3 "The extended page table mechanism
 * (EPT)").  Four levels (PML4, PDPT, PD, PT), 4 KiB leaves only, every
 * page readable, writable and executable, write-back.
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
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/sched.h>
#include <vigil/string.h>

/* EPT paging-structure entries (29.3.2, tables 29-1 to 29-6). */
#define EPT_R        (1ULL << 0)
#define EPT_W        (1ULL << 1)
#define EPT_X        (1ULL << 2)
#define EPT_RWX      (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT 3             /* leaf: memory type, bits 5:3 */
#define EPT_ADDR     0x000FFFFFFFFFF000ULL
/* EPTP (25.6.11): memory type in bits 2:0, walk length - 1 in bits 5:3. */
#define EPTP_WALK_4  (3ULL << 3)

#define EPT_LEVELS   4
#define EPT_GPA_LIMIT (1ULL << 48) /* what a 4-level walk translates */

static uint64_t *table(uint64_t pa)
{
	return phys_to_virt(pa);
}

static uint64_t new_table(struct vmx_vm *v)
{
	uint64_t pa = pmm_alloc_page();
	if (pa) {
		memset(table(pa), 0, PAGE_SIZE);
		v->tables++;
	}
	return pa;
}

/* The leaf entry for gpa, creating the tables on the way when create;
 * NULL when a table is missing (and !create) or no memory is left.  An
 * entry is present when any of bits 2:0 is set (29.3.2). */
static uint64_t *leaf_entry(struct vmx_vm *v, uint64_t gpa, bool create)
{
	uint64_t pa = v->pml4_pa;
	for (int level = EPT_LEVELS - 1; level > 0; level--) {
		uint64_t *t = table(pa);
		unsigned idx = (gpa >> (PAGE_SHIFT + 9 * level)) & 511;
		if (!(t[idx] & EPT_RWX)) {
			if (!create)
				return NULL;
			uint64_t n = new_table(v);
			if (!n)
				return NULL;
			/* Non-leaf entries grant everything; the leaf decides. */
			t[idx] = n | EPT_RWX;
		}
		pa = t[idx] & EPT_ADDR;
	}
	return &table(pa)[(gpa >> PAGE_SHIFT) & 511];
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

int vmx_vm_init(struct vm *vm, char *why, size_t len)
{
	if (!vmx_caps.probed) {
		snprintf(why, len, "VMX was not probed on this machine");
		return -1;
	}
	struct vmx_vm *v = kzalloc(sizeof(*v));
	if (!v) {
		snprintf(why, len, "no memory for the VM's EPT state");
		return -1;
	}
	v->pml4_pa = new_table(v);
	if (!v->pml4_pa) {
		kfree(v);
		snprintf(why, len, "no memory for the EPT PML4");
		return -1;
	}
	/* 25.6.11 "Extended-page-table pointer (EPTP)": no accessed/dirty
	 * flags (bit 6 clear), 4-level walk, the paging structures' memory
	 * type as IA32_VMX_EPT_VPID_CAP allows (WB, else UC). */
	v->eptp = v->pml4_pa | EPTP_WALK_4 | vmx_caps.eptp_memtype;
	vm->arch = v;
	return 0;
}

static void unmap_range(struct vmx_vm *v, uint64_t gpa, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		uint64_t *e = leaf_entry(v, gpa + off, false);
		if (e)
			*e = 0;
	}
}

int vmx_vm_map_slot(struct vm *vm, const struct vm_slot *s, char *why, size_t len)
{
	struct vmx_vm *v = vm->arch;
	if (!v) {
		snprintf(why, len, "VM has no EPT (vm_init not run)");
		return -1;
	}
	if (!s->size || !IS_ALIGNED(s->gpa, PAGE_SIZE) || !IS_ALIGNED(s->size, PAGE_SIZE) ||
	    !IS_ALIGNED(s->hpa, PAGE_SIZE)) {
		snprintf(why, len, "slot [0x%lx, +0x%lx) -> 0x%lx is empty or not page-aligned",
			 (unsigned long)s->gpa, (unsigned long)s->size, (unsigned long)s->hpa);
		return -1;
	}
	if (s->gpa >= EPT_GPA_LIMIT || s->size > EPT_GPA_LIMIT - s->gpa) {
		snprintf(why, len, "slot [0x%lx, +0x%lx) lies beyond the 48-bit guest-physical space of 4-level EPT",
			 (unsigned long)s->gpa, (unsigned long)s->size);
		return -1;
	}
	/* Leaves: read/write/execute, write-back (29.3.6.2 "Memory type
	 * used for translated guest-physical addresses"). */
	uint64_t flags = EPT_RWX | ((uint64_t)VMX_MEMTYPE_WB << EPT_MT_SHIFT);
	for (uint64_t off = 0; off < s->size; off += PAGE_SIZE) {
		uint64_t *e = leaf_entry(v, s->gpa + off, true);
		if (!e || (*e & EPT_RWX)) {
			if (e)
				snprintf(why, len, "guest-physical 0x%lx is already mapped", (unsigned long)(s->gpa + off));
			else
				snprintf(why, len, "no memory for EPT tables");
			unmap_range(v, s->gpa, off);
			return -1;
		}
		*e = (s->hpa + off) | flags;
	}
	/* Mappings only appeared: nothing cached can be stale (the CPU does
	 * not cache not-present EPT entries, 29.4.2). */
	return 0;
}

void vmx_vm_unmap_slot(struct vm *vm, const struct vm_slot *s)
{
	struct vmx_vm *v = vm->arch;
	if (!v)
		return;
	unmap_range(v, s->gpa, s->size);
	flush_here(v);
}

static void free_tables(struct vmx_vm *v, uint64_t pa, int level)
{
	if (level > 0) {
		uint64_t *t = table(pa);
		for (unsigned i = 0; i < 512; i++)
			if (t[i] & EPT_RWX)
				free_tables(v, t[i] & EPT_ADDR, level - 1);
	}
	pmm_free_page(pa);
	v->tables--;
}

void vmx_vm_destroy(struct vm *vm)
{
	struct vmx_vm *v = vm->arch;
	if (!v)
		return;
	flush_here(v);
	free_tables(v, v->pml4_pa, EPT_LEVELS - 1);
	if (v->tables)
		printk("vmx: EPT of VM %u: %u tables not freed\n", vm->id, v->tables);
	kfree(v);
	vm->arch = NULL;
}

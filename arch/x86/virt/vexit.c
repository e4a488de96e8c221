/*
 * The one exit layer under both technologies (asm/vexit.h): whatever the
 * backend, the built-in guest's CPUID, port I/O, hypercalls, HLT, memory
 * faults, exceptions and failed entries get the same answer, so VMX and SVM
 * cannot drift apart.  The backends only decode (Intel SDM vol 3C, 28.2
 * "Recording VM-exit information"; AMD APM vol 2, 15.6 "#VMEXIT" and
 * appendix C) and apply.
 */
#include <stdarg.h>
#include <asm/guest_cpuid.h>
#include <asm/mmio_insn.h>
#include <asm/vexit.h>
#include <vigil/mm.h>
#include <vigil/printk.h>
#include <vigil/string.h>

static const char *const exception_mnemonic[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#9", "#TS", "#NP", "#SS", "#GP",
	"#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27",
	"#HV", "#VC", "#SX", "#31",
};

__printf(2, 3) static enum vcpu_exit_action fail(struct vcpu_run *acct, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(acct->why, sizeof(acct->why), fmt, ap);
	va_end(ap);
	acct->guest_failed = true;
	return VCPU_EXIT_GUEST_FAILED;
}

__printf(2, 3) static enum vcpu_exit_action host_fail(struct vcpu_run *acct, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(acct->why, sizeof(acct->why), fmt, ap);
	va_end(ap);
	return VCPU_EXIT_HOST_FAILED;
}

static void emulate_cpuid(struct guest_gprs *r, const char signature[12])
{
	struct cpuid_regs c = guest_cpuid((uint32_t)r->rax, (uint32_t)r->rcx, signature);
	r->rax = c.eax;
	r->rbx = c.ebx;
	r->rcx = c.ecx;
	r->rdx = c.edx;
}

/* Nothing sits behind any port: OUT is dropped, IN reads all ones, as from
 * an empty ISA bus.  A 32-bit IN writes all of EAX's 32 bits and clears the
 * upper half of RAX; 8- and 16-bit ones keep the rest of RAX. */
static enum vcpu_exit_action emulate_io(struct vcpu_run *acct, struct guest_gprs *r, const struct vexit_info *e)
{
	if (e->io_string)
		return fail(acct, "guest string I/O on port 0x%x at rip 0x%lx is not emulated", e->port,
			    (unsigned long)e->rip);
	if (e->io_in) {
		uint64_t mask = e->io_size == 4 ? 0xFFFFFFFFULL : e->io_size == 2 ? 0xFFFF : 0xFF;
		r->rax = e->io_size == 4 ? mask : (r->rax | mask);
	}
	return VCPU_EXIT_CONTINUE;
}

static enum vcpu_exit_action hypercall(const struct vm *vm, struct vcpu_run *acct, struct guest_gprs *r)
{
	acct->hypercalls++;
	if (acct->guest == GUEST_PATTERN) {
		switch ((uint32_t)r->rax) {
		case VIGIL_HC_PROGRESS:
			acct->progress++;
			break;
		case VIGIL_HC_MEM_ERROR:
			/* The guest read back something else than it wrote:
			 * lost or stale guest memory.  Counted; the first few
			 * are logged with the address. */
			if (acct->guest_errors++ < 4)
				printk("vm %u: guest memory error at guest-physical 0x%lx: wrote 0x%08x, read 0x%08x\n",
				       vm->id, (unsigned long)(uint32_t)r->rbx, (uint32_t)r->rcx, (uint32_t)r->rdx);
			break;
		default:
			return fail(acct, "unknown hypercall %u", (uint32_t)r->rax);
		}
		r->rax = 0;
		return VCPU_EXIT_CONTINUE;
	}
	if (acct->guest == GUEST_PROBE) {
		if ((uint32_t)r->rax != VIGIL_HC_PROBE)
			return fail(acct, "unknown hypercall %u", (uint32_t)r->rax);
		uint32_t pass = (uint32_t)r->rbx, got = (uint32_t)r->rdx;
		if (got == pass)
			acct->probe_memory++;
		else if (got == MMIO_READ_MARKER)
			acct->probe_marker++;
		else
			acct->probe_other++;
		acct->probe_last_pass = pass;
		acct->probe_last_value = got;
		r->rax = 0;
		return VCPU_EXIT_CONTINUE;
	}
	/* The other guests pass their own count of hypercalls in EAX: a check
	 * that the guest's registers survive every exit. */
	if ((acct->guest == GUEST_NORMAL || acct->guest == GUEST_SPIN || acct->guest == GUEST_HCLOOP) && (uint32_t)r->rax != (uint32_t)acct->hypercalls)
		return fail(acct, "hypercall %lu: the guest counts %u (guest registers not preserved?)",
			    (unsigned long)acct->hypercalls, (uint32_t)r->rax);
	r->rax = 0;  /* the hypercall's result: success */
	return VCPU_EXIT_CONTINUE;
}

enum vcpu_exit_action vexit_handle(const struct vm *vm, struct vcpu_run *acct, struct guest_gprs *r,
				   const struct vexit_info *e, const char signature[12], bool *skip)
{
	*skip = false;
	vcpu_run_count_exit(acct, e->reason);
	switch (e->reason) {
	case VEXIT_CPUID:
		emulate_cpuid(r, signature);
		*skip = true;
		return VCPU_EXIT_CONTINUE;
	case VEXIT_IO:
		*skip = true;
		return emulate_io(acct, r, e);
	case VEXIT_HYPERCALL:
		*skip = true;
		return hypercall(vm, acct, r);
	case VEXIT_HLT:
		*skip = true;
		return VCPU_EXIT_HALT;
	case VEXIT_INTR:
		/* A physical interrupt for the host: already taken. */
		return VCPU_EXIT_CONTINUE;
	case VEXIT_MEM_FAULT:
		if (vm_gpa_in_slot(vm, e->gpa))
			return host_fail(acct, "nested page fault at guest-physical 0x%lx inside a slot (%s): "
					 "the host's nested page tables are out of step",
					 (unsigned long)e->gpa, e->detail ? e->detail : "no detail");
		return fail(acct, "guest touched unmapped guest-physical 0x%lx (%s%s%s)", (unsigned long)e->gpa,
			    e->write ? "write" : e->fetch ? "fetch" : "read", e->detail ? ", " : "", e->detail ? e->detail : "");
	case VEXIT_EXCEPTION:
		if (e->vector == 6)
			return fail(acct, "guest executed an undefined instruction at rip 0x%lx", (unsigned long)e->rip);
		return fail(acct, "guest raised %s (vector %u, error code 0x%lx) at rip 0x%lx",
			    exception_mnemonic[e->vector & 31], e->vector, (unsigned long)e->error_code,
			    (unsigned long)e->rip);
	case VEXIT_SHUTDOWN:
		return fail(acct, "guest triple fault (rip 0x%lx)", (unsigned long)e->rip);
	case VEXIT_ENTRY_FAILED:
		return fail(acct, "VM entry failed: %s", e->detail ? e->detail : "invalid guest state");
	case VEXIT_NONE:
	case VEXIT_OTHER:
	case VEXIT_COUNT:
		break;
	}
	return fail(acct, "unexpected exit 0x%lx at rip 0x%lx%s%s", (unsigned long)e->raw, (unsigned long)e->rip,
		    e->detail ? ": " : "", e->detail ? e->detail : "");
}

/* GUEST_PATTERN's memory (asm/guest_code.inc): below PATTERN_AREAS the code
 * page at GUEST_CODE_GPA and 512-byte stacks, one per vCPU, from
 * PATTERN_STACKS up; above it each vCPU's own pattern area, at most
 * PATTERN_AREA_MAX bytes so that one pass of the guest's loop stays short
 * under emulation. */
#define PATTERN_STACKS 0x2000ULL
#define PATTERN_STACK_SIZE 0x200ULL
#define PATTERN_MAX_VCPUS 256ULL
#define PATTERN_AREAS (PATTERN_STACKS + PATTERN_MAX_VCPUS * PATTERN_STACK_SIZE)
#define PATTERN_AREA_MAX (16 * 1024ULL)

uint64_t guest_pattern_min_mem(unsigned nr)
{
	return PATTERN_AREAS + (uint64_t)nr * PAGE_SIZE;
}

int guest_pattern_layout(uint64_t mem, unsigned nr, unsigned index, struct guest_pattern_layout *l, char *why,
			 size_t len)
{
	if (nr == 0 || nr > PATTERN_MAX_VCPUS || index >= nr) {
		snprintf(why, len, "the pattern guest runs 1 to %llu vCPUs (asked for vCPU %u of %u)", PATTERN_MAX_VCPUS,
			 index, nr);
		return -1;
	}
	if (mem > (1ULL << 32))
		mem = 1ULL << 32;  /* a 32-bit guest with paging off */
	if (mem < guest_pattern_min_mem(nr)) {
		snprintf(why, len, "mem=%lu KiB is too small for %u vCPUs of the pattern guest (at least %lu KiB)",
			 (unsigned long)(mem / 1024), nr, (unsigned long)(guest_pattern_min_mem(nr) / 1024));
		return -1;
	}
	uint64_t each = ((mem - PATTERN_AREAS) / nr) & ~(uint64_t)(PAGE_SIZE - 1);
	if (each > PATTERN_AREA_MAX)
		each = PATTERN_AREA_MAX;
	l->stack_top = PATTERN_STACKS + (index + 1) * PATTERN_STACK_SIZE;
	l->area = PATTERN_AREAS + index * each;
	l->area_size = each;
	return 0;
}

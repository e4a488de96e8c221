/*
 * The one exit layer under both technologies (arch/x86/virt/vexit.c).
 *
 * A backend decodes its exit (VMX exit reason and qualification, SVM exit
 * code and EXITINFO) into a struct vexit_info, copies the guest registers the
 * layer may read or write into a struct guest_gprs, and calls vexit_handle().
 * The layer decides -- one piece of code for CPUID, port I/O, the hypercall,
 * HLT, memory faults, guest exceptions and failed entries -- and the backend
 * writes the registers back and, when *skip says so, moves RIP past the
 * instruction (insn_len bytes; a backend that could not give the length
 * decodes it first).  Host-only events (an NMI handed to the host's
 * handler...) stay in the backend and never reach the layer.
 */
#ifndef ASM_VEXIT_H
#define ASM_VEXIT_H
#include <vigil/types.h>
#include <vigil/virt.h>

/* The guest registers the exit layer reads or writes. */
struct guest_gprs {
	uint64_t rax, rbx, rcx, rdx;
};

struct vexit_info {
	enum vexit reason;
	uint64_t rip;              /* of the instruction or event that exited */
	unsigned insn_len;         /* its length when it is an instruction exit, else 0 */
	/* VEXIT_IO */
	uint16_t port;
	uint8_t io_size;           /* 1, 2 or 4 */
	bool io_in, io_string;
	/* VEXIT_MEM_FAULT */
	uint64_t gpa;
	bool write, fetch;
	/* VEXIT_EXCEPTION */
	unsigned vector;
	uint64_t error_code;
	/* The technology's own code (exit reason / exit code), for messages. */
	uint64_t raw;
	/* VEXIT_ENTRY_FAILED / VEXIT_OTHER / host failures: the backend's words. */
	const char *detail;
};

/* The hypercall ABI of GUEST_PATTERN (asm/guest_code.inc): function in EAX. */
#define VIGIL_HC_PROGRESS 1        /* EBX: the guest's iteration count */
#define VIGIL_HC_MEM_ERROR 2       /* EBX: gpa, ECX: expected, EDX: found */
/* GUEST_PROBE: the one address it stores to and loads from (EDI at start):
 * above the 64 KiB slot 0 a VM is created with, so no slot holds it until
 * one is added there. */
#define GUEST_PROBE_GPA 0x20000ULL
#define VIGIL_HC_PROBE 3           /* EBX: pass (stored), EDX: value loaded */

/* Handle one decoded exit, accounting in acct (vcpu_run_count_exit,
 * hypercalls, progress, guest_errors...).  signature: the backend's CPUID
 * signature (12 characters, asm/guest_cpuid.h).  Returns what the vCPU does
 * next; on GUEST_FAILED / HOST_FAILED acct->why says why.  *skip: move RIP
 * past the instruction before the next entry. */
enum vcpu_exit_action vexit_handle(const struct vm *vm, struct vcpu_run *acct, struct guest_gprs *r,
				   const struct vexit_info *e, const char signature[12], bool *skip);

/* Where GUEST_PATTERN's vCPU index of nr runs in a slot 0 of mem bytes:
 * code at GUEST_CODE_GPA, a small stack per vCPU, and a pattern area of its
 * own.  0, or -1 with why when mem is too small for nr vCPUs. */
#define GUEST_CODE_GPA 0x1000
struct guest_pattern_layout {
	uint64_t stack_top;        /* ESP */
	uint64_t area;             /* EDI: first byte of its pattern area */
	uint64_t area_size;        /* ECX: bytes, a multiple of 4 KiB */
};
int guest_pattern_layout(uint64_t mem, unsigned nr, unsigned index, struct guest_pattern_layout *l, char *why,
			 size_t len);
/* The smallest slot 0 that holds nr vCPUs of GUEST_PATTERN. */
uint64_t guest_pattern_min_mem(unsigned nr);

#endif

/*
 * arch/x86/virt/vexit.c on the host: the exit layer both backends hand
 * their decoded exits to.  Each reason gets its one answer (CPUID from
 * guest_cpuid(), port I/O as an empty bus, the hypercall ABIs, HLT, host
 * interrupts, memory faults inside and outside the slots, exceptions,
 * failed entries), says whether RIP moves past the instruction, and counts
 * the exit exactly once; GUEST_PATTERN's layout gives every vCPU its own
 * stack and pattern area inside slot 0, or refuses with the reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <asm/vexit.h>

static unsigned printk_calls;
static char printk_last[256];

void printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(printk_last, sizeof(printk_last), fmt, ap);
	va_end(ap);
	printk_calls++;
}

static const char SIG[12] = { 'V', 'i', 'g', 'i', 'l', 'H', 'V', ' ', 'T', 'E', 'S', 'T' };

struct fixture {
	struct vm vm;
	struct vcpu_run run;
	struct guest_gprs r;
	struct vexit_info e;
	bool skip;
};

static void setup(struct fixture *f, enum guest_kind kind)
{
	memset(f, 0, sizeof(*f));
	f->vm.id = 7;
	f->vm.slots[0] = (struct vm_slot){ .gpa = 0, .size = 0x10000, .hpa = 0x100000, .used = true };
	f->run.guest = kind;
	printk_calls = 0;
	printk_last[0] = 0;
}

static enum vcpu_exit_action handle(struct fixture *f, enum vexit reason)
{
	f->e.reason = reason;
	f->skip = !f->skip;   /* must be overwritten */
	return vexit_handle(&f->vm, &f->run, &f->r, &f->e, SIG, &f->skip);
}

static void cpuid_answers_the_signature(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, GUEST_NORMAL);
	f.r.rax = 0x40000000;
	assert_int_equal(handle(&f, VEXIT_CPUID), VCPU_EXIT_CONTINUE);
	assert_true(f.skip);
	assert_int_equal(f.r.rax, 0x40000000);
	assert_memory_equal(&f.r.rbx, "Vigi", 4);
	assert_memory_equal(&f.r.rcx, "lHV ", 4);
	assert_memory_equal(&f.r.rdx, "TEST", 4);
	assert_int_equal(f.run.exits, 1);
	assert_int_equal(f.run.exit_count[VEXIT_CPUID], 1);
	assert_int_equal(f.run.last_exit, VEXIT_CPUID);

	/* Leaf 1: the hypervisor bit set, both virtualization extensions
	 * hidden (ECX[5] VMX; SVM is in 0x80000001 ECX[2]). */
	f.r.rax = 1;
	f.r.rcx = 0;
	assert_int_equal(handle(&f, VEXIT_CPUID), VCPU_EXIT_CONTINUE);
	assert_true(f.r.rcx & (1u << 31));
	assert_false(f.r.rcx & (1u << 5));
	f.r.rax = 0x80000001;
	f.r.rcx = 0;
	assert_int_equal(handle(&f, VEXIT_CPUID), VCPU_EXIT_CONTINUE);
	assert_false(f.r.rcx & (1u << 2));
	assert_int_equal(f.run.exits, 3);
}

static void io_is_an_empty_bus(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, GUEST_NORMAL);
	f.e.port = 0x80;
	f.e.io_size = 1;
	f.r.rax = 0x1234567812345678ULL;
	assert_int_equal(handle(&f, VEXIT_IO), VCPU_EXIT_CONTINUE);   /* OUT: dropped */
	assert_true(f.skip);
	assert_int_equal(f.r.rax, 0x1234567812345678ULL);

	f.e.io_in = true;
	assert_int_equal(handle(&f, VEXIT_IO), VCPU_EXIT_CONTINUE);
	assert_int_equal(f.r.rax, 0x12345678123456FFULL);
	f.e.io_size = 2;
	assert_int_equal(handle(&f, VEXIT_IO), VCPU_EXIT_CONTINUE);
	assert_int_equal(f.r.rax, 0x123456781234FFFFULL);
	f.e.io_size = 4;                 /* a 32-bit write clears RAX[63:32] */
	assert_int_equal(handle(&f, VEXIT_IO), VCPU_EXIT_CONTINUE);
	assert_int_equal(f.r.rax, 0xFFFFFFFFULL);

	f.e.io_string = true;
	f.e.rip = 0x1234;
	assert_int_equal(handle(&f, VEXIT_IO), VCPU_EXIT_GUEST_FAILED);
	assert_true(f.run.guest_failed);
	assert_non_null(strstr(f.run.why, "string I/O on port 0x80 at rip 0x1234"));
	assert_int_equal(f.run.exit_count[VEXIT_IO], 5);
}

static void hypercall_checks_the_guests_count(void **state)
{
	(void)state;
	static const enum guest_kind counting[] = { GUEST_NORMAL, GUEST_SPIN, GUEST_HCLOOP };
	for (unsigned k = 0; k < 3; k++) {
		struct fixture f;
		setup(&f, counting[k]);
		for (uint64_t n = 1; n <= 3; n++) {
			f.r.rax = n;
			assert_int_equal(handle(&f, VEXIT_HYPERCALL), VCPU_EXIT_CONTINUE);
			assert_true(f.skip);
			assert_int_equal(f.r.rax, 0);
			assert_int_equal(f.run.hypercalls, n);
		}
		f.r.rax = 9;                /* the guest lost count: registers not preserved */
		assert_int_equal(handle(&f, VEXIT_HYPERCALL), VCPU_EXIT_GUEST_FAILED);
		assert_true(f.run.guest_failed);
		assert_non_null(strstr(f.run.why, "hypercall 4: the guest counts 9"));
	}
}

static void pattern_hypercalls(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, GUEST_PATTERN);
	f.r.rax = VIGIL_HC_PROGRESS;
	f.r.rbx = 1;
	assert_int_equal(handle(&f, VEXIT_HYPERCALL), VCPU_EXIT_CONTINUE);
	assert_int_equal(f.run.progress, 1);
	assert_int_equal(f.r.rax, 0);
	assert_int_equal(f.run.guest_errors, 0);

	/* Memory errors are counted, and only the first four logged. */
	for (unsigned i = 0; i < 6; i++) {
		f.r.rax = VIGIL_HC_MEM_ERROR;
		f.r.rbx = 0x22000 + 4 * i;
		f.r.rcx = 0x01000001;
		f.r.rdx = 0xdeadbeef;
		assert_int_equal(handle(&f, VEXIT_HYPERCALL), VCPU_EXIT_CONTINUE);
		assert_true(f.skip);
	}
	assert_int_equal(f.run.guest_errors, 6);
	assert_int_equal(printk_calls, 4);
	assert_non_null(strstr(printk_last, "vm 7: guest memory error at guest-physical 0x2200c: wrote 0x01000001, "
					    "read 0xdeadbeef"));
	assert_int_equal(f.run.progress, 1);
	assert_int_equal(f.run.hypercalls, 7);

	f.r.rax = 3;
	assert_int_equal(handle(&f, VEXIT_HYPERCALL), VCPU_EXIT_GUEST_FAILED);
	assert_string_equal(f.run.why, "unknown hypercall 3");
}

static void hlt_and_host_interrupts(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, GUEST_PATTERN);
	assert_int_equal(handle(&f, VEXIT_HLT), VCPU_EXIT_HALT);
	assert_true(f.skip);
	assert_int_equal(handle(&f, VEXIT_INTR), VCPU_EXIT_CONTINUE);
	assert_false(f.skip);               /* nothing of the guest's to skip */
	assert_int_equal(f.run.exit_count[VEXIT_HLT], 1);
	assert_int_equal(f.run.exit_count[VEXIT_INTR], 1);
	assert_int_equal(f.run.exits, 2);
	assert_false(f.run.guest_failed);
}

static void memory_faults(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, GUEST_WILD);
	f.e.gpa = 0x40000000;
	f.e.write = true;
	assert_int_equal(handle(&f, VEXIT_MEM_FAULT), VCPU_EXIT_GUEST_FAILED);
	assert_false(f.skip);
	assert_true(f.run.guest_failed);
	assert_string_equal(f.run.why, "guest touched unmapped guest-physical 0x40000000 (write)");
	f.e.detail = "error code 0x6";
	assert_int_equal(handle(&f, VEXIT_MEM_FAULT), VCPU_EXIT_GUEST_FAILED);
	assert_string_equal(f.run.why, "guest touched unmapped guest-physical 0x40000000 (write, error code 0x6)");

	/* Inside a slot the host's tables are wrong, not the guest. */
	setup(&f, GUEST_NORMAL);
	f.e.gpa = 0x1000;
	f.e.detail = "error code 0x14";
	assert_int_equal(handle(&f, VEXIT_MEM_FAULT), VCPU_EXIT_HOST_FAILED);
	assert_false(f.run.guest_failed);
	assert_non_null(strstr(f.run.why, "0x1000 inside a slot (error code 0x14)"));
	/* The slot's end is exclusive. */
	setup(&f, GUEST_NORMAL);
	f.e.gpa = 0x10000;
	f.e.fetch = true;
	assert_int_equal(handle(&f, VEXIT_MEM_FAULT), VCPU_EXIT_GUEST_FAILED);
	assert_non_null(strstr(f.run.why, "0x10000 (fetch"));
}

static void exceptions_shutdown_entry_failures(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, GUEST_BAD_INSN);
	f.e.vector = 6;
	f.e.rip = 0x1000;
	assert_int_equal(handle(&f, VEXIT_EXCEPTION), VCPU_EXIT_GUEST_FAILED);
	assert_string_equal(f.run.why, "guest executed an undefined instruction at rip 0x1000");

	setup(&f, GUEST_NORMAL);
	f.e.vector = 13;
	f.e.error_code = 0x18;
	f.e.rip = 0x1010;
	assert_int_equal(handle(&f, VEXIT_EXCEPTION), VCPU_EXIT_GUEST_FAILED);
	assert_string_equal(f.run.why, "guest raised #GP (vector 13, error code 0x18) at rip 0x1010");

	setup(&f, GUEST_NORMAL);
	f.e.rip = 0x1fff;
	assert_int_equal(handle(&f, VEXIT_SHUTDOWN), VCPU_EXIT_GUEST_FAILED);
	assert_string_equal(f.run.why, "guest triple fault (rip 0x1fff)");

	setup(&f, GUEST_NORMAL);
	f.e.detail = "VMEXIT_INVALID: guest EFER.SVME is clear";
	assert_int_equal(handle(&f, VEXIT_ENTRY_FAILED), VCPU_EXIT_GUEST_FAILED);
	assert_string_equal(f.run.why, "VM entry failed: VMEXIT_INVALID: guest EFER.SVME is clear");
	assert_int_equal(f.run.last_exit, VEXIT_ENTRY_FAILED);

	setup(&f, GUEST_NORMAL);
	f.e.raw = 0x7c;
	f.e.rip = 0x1003;
	assert_int_equal(handle(&f, VEXIT_OTHER), VCPU_EXIT_GUEST_FAILED);
	assert_string_equal(f.run.why, "unexpected exit 0x7c at rip 0x1003");
	assert_int_equal(f.run.exit_count[VEXIT_OTHER], 1);
}

static void pattern_layout(void **state)
{
	(void)state;
	struct guest_pattern_layout l[4];
	char why[256];
	for (unsigned nr = 1; nr <= 4; nr++) {
		uint64_t mem = 256 * 1024;
		for (unsigned i = 0; i < nr; i++) {
			assert_int_equal(guest_pattern_layout(mem, nr, i, &l[i], why, sizeof(why)), 0);
			assert_true(l[i].area_size >= 4096 && l[i].area_size % 4096 == 0);
			assert_true(l[i].area_size <= 16 * 1024);
			assert_true(l[i].area + l[i].area_size <= mem);
			assert_true(l[i].stack_top > GUEST_CODE_GPA + 0x1000);   /* above the code page */
			assert_true(l[i].stack_top <= l[0].area);                /* below every area */
			for (unsigned j = 0; j < i; j++) {
				assert_true(l[j].stack_top != l[i].stack_top);
				assert_true(l[j].area + l[j].area_size <= l[i].area);
			}
		}
	}
	assert_int_equal(guest_pattern_layout(1ULL << 40, 2, 1, &l[0], why, sizeof(why)), 0);
	assert_true(l[0].area + l[0].area_size <= 1ULL << 32);   /* a 32-bit guest */

	assert_int_equal(guest_pattern_layout(256 * 1024, 0, 0, &l[0], why, sizeof(why)), -1);
	assert_non_null(strstr(why, "1 to 256 vCPUs"));
	assert_int_equal(guest_pattern_layout(256 * 1024, 2, 2, &l[0], why, sizeof(why)), -1);
	assert_non_null(strstr(why, "vCPU 2 of 2"));
	uint64_t min2 = guest_pattern_min_mem(2);
	assert_int_equal(guest_pattern_layout(min2 - 4096, 2, 0, &l[0], why, sizeof(why)), -1);
	assert_non_null(strstr(why, "too small for 2 vCPUs"));
	assert_int_equal(guest_pattern_layout(min2, 2, 1, &l[0], why, sizeof(why)), 0);
	assert_true(l[0].area + l[0].area_size <= min2);
	assert_true(guest_pattern_min_mem(3) > min2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cpuid_answers_the_signature),
		cmocka_unit_test(io_is_an_empty_bus),
		cmocka_unit_test(hypercall_checks_the_guests_count),
		cmocka_unit_test(pattern_hypercalls),
		cmocka_unit_test(hlt_and_host_interrupts),
		cmocka_unit_test(memory_faults),
		cmocka_unit_test(exceptions_shutdown_entry_failures),
		cmocka_unit_test(pattern_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * core/virt/vcpu_run.c on the host: what both backends' run loops use.
 * A reset clears every result and keeps the in fields; each counted exit
 * adds to the total and its kind and becomes last_exit; vm_gpa_in_slot
 * honours slot bounds (end exclusive, no wrap-around) and unused slots.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vigil/virt.h>

static void reset_clears_results_keeps_inputs(void **state)
{
	(void)state;
	struct vcpu_run run;
	memset(&run, 0x5a, sizeof(run));
	run.guest = GUEST_WILD;
	run.max_exits = 7;
	vcpu_run_reset(&run);
	assert_int_equal(run.guest, GUEST_WILD);
	assert_int_equal(run.max_exits, 7);
	assert_int_equal(run.exits, 0);
	for (unsigned e = 0; e < VEXIT_COUNT; e++)
		assert_int_equal(run.exit_count[e], 0);
	assert_int_equal(run.last_exit, VEXIT_NONE);
	assert_int_equal(run.hypercalls, 0);
	assert_int_equal(run.guest_ns, 0);
	assert_int_equal(run.timer_ticks, 0);
	assert_false(run.guest_failed);
	assert_string_equal(run.why, "");
}

static void count_exit_adds_up(void **state)
{
	(void)state;
	struct vcpu_run run = { 0 };
	vcpu_run_count_exit(&run, VEXIT_CPUID);
	vcpu_run_count_exit(&run, VEXIT_IO);
	vcpu_run_count_exit(&run, VEXIT_CPUID);
	assert_int_equal(run.exits, 3);
	assert_int_equal(run.exit_count[VEXIT_CPUID], 2);
	assert_int_equal(run.exit_count[VEXIT_IO], 1);
	assert_int_equal(run.last_exit, VEXIT_CPUID);
}

static int stop_calls;
static bool stop_yes(void)
{
	stop_calls++;
	return true;
}

/* The stop hook is asked only every VCPU_STOP_POLL_EXITS exits, and a yes
 * marks the run interrupted. */
static void stop_asked_every_poll_period(void **state)
{
	(void)state;
	struct vcpu_run run = { .max_exits = 10000 };
	vcpu_run_reset(&run);
	vcpu_run_count_exit(&run, VEXIT_CPUID);
	assert_false(vcpu_run_stop_asked(&run));    /* no hook */
	run.stop = stop_yes;
	stop_calls = 0;
	while (run.exits % VCPU_STOP_POLL_EXITS != 0) {
		assert_false(vcpu_run_stop_asked(&run));
		vcpu_run_count_exit(&run, VEXIT_CPUID);
	}
	assert_int_equal(stop_calls, 0);
	assert_false(run.interrupted);
	assert_true(vcpu_run_stop_asked(&run));
	assert_int_equal(stop_calls, 1);
	assert_true(run.interrupted);
}

static void gpa_in_slot_bounds(void **state)
{
	(void)state;
	struct vm vm = { 0 };
	vm.slots[2] = (struct vm_slot){ .gpa = 0x10000, .size = 0x4000, .used = true };
	vm.slots[3] = (struct vm_slot){ .gpa = 0x0, .size = 0x1000000, .used = false };
	vm.slots[5] = (struct vm_slot){ .gpa = UINT64_MAX - 0xfff, .size = 0x1000, .used = true };
	assert_false(vm_gpa_in_slot(&vm, 0xffff));
	assert_true(vm_gpa_in_slot(&vm, 0x10000));
	assert_true(vm_gpa_in_slot(&vm, 0x13fff));
	assert_false(vm_gpa_in_slot(&vm, 0x14000));
	assert_false(vm_gpa_in_slot(&vm, 0x20000));  /* only in the unused slot */
	assert_true(vm_gpa_in_slot(&vm, UINT64_MAX));
	assert_false(vm_gpa_in_slot(&vm, UINT64_MAX - 0x1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reset_clears_results_keeps_inputs),
		cmocka_unit_test(count_exit_adds_up),
		cmocka_unit_test(gpa_in_slot_bounds),
		cmocka_unit_test(stop_asked_every_poll_period),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * core/inject.c on the host: inject_hit() honours the CPU and the count,
 * and inject_arm_once()/inject_restore() (what the backend self-tests use to
 * provoke one fault) arm for exactly one hit on one CPU and then put back
 * whatever state the point had, armed from the console or not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <vigil/inject.h>
#include <vigil/kernel.h>
#include <vigil/shell.h>

/* the shell builtins (linked for cmd_inject's helpers) print these */
const char vigil_version[] = "test";
const char vigil_commit[] = "test";
/* The machine's CPUs as shell_arg_cpu sees them (no CPU table linked). */
unsigned nr_possible_cpus = 4;

INJECT_POINT(test_point, "a point for this test");

static void hit_honours_cpu_and_count(void **state)
{
	(void)state;
	inject_clear_all();
	inject_test_point.cpu = 2;
	inject_test_point.remaining = 2;
	inject_test_point.armed = 1;
	assert_false(inject_hit(&inject_test_point, 1));
	assert_true(inject_hit(&inject_test_point, 2));
	assert_true(inject_hit(&inject_test_point, 2));
	assert_false(inject_test_point.armed);
	assert_false(inject_hit(&inject_test_point, 2));
	assert_ptr_equal(inject_find("test_point"), &inject_test_point);
	assert_null(inject_find("no_such_point"));
}

static void arm_once_hits_once_on_its_cpu(void **state)
{
	(void)state;
	inject_clear_all();
	struct inject_point old = inject_arm_once(&inject_test_point, 3);
	assert_false(old.armed);
	assert_false(inject_hit(&inject_test_point, 0));
	assert_true(inject_hit(&inject_test_point, 3));
	assert_false(inject_hit(&inject_test_point, 3));
	inject_restore(&inject_test_point, &old);
	assert_false(inject_test_point.armed);
	assert_int_equal(inject_test_point.cpu, INJECT_ANY_CPU);
	assert_int_equal(inject_test_point.remaining, 0);
}

/* A point the console armed (any CPU, 5 hits) is the same after a
 * self-test armed it once and restored it, whether or not the hit came. */
static void restore_puts_back_console_state(void **state)
{
	(void)state;
	inject_clear_all();
	inject_test_point.cpu = INJECT_ANY_CPU;
	inject_test_point.remaining = 5;
	inject_test_point.armed = 1;
	for (int hit = 0; hit < 2; hit++) {
		struct inject_point old = inject_arm_once(&inject_test_point, 1);
		assert_int_equal(inject_test_point.cpu, 1);
		assert_int_equal(inject_test_point.remaining, 1);
		if (hit)
			assert_true(inject_hit(&inject_test_point, 1));
		inject_restore(&inject_test_point, &old);
		assert_true(inject_test_point.armed);
		assert_int_equal(inject_test_point.cpu, INJECT_ANY_CPU);
		assert_int_equal(inject_test_point.remaining, 5);
	}
	inject_clear_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hit_honours_cpu_and_count),
		cmocka_unit_test(arm_once_hits_once_on_its_cpu),
		cmocka_unit_test(restore_puts_back_console_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Host tests for the platform sleep sequence (core/power/platform_sleep.c)
 * and the device callback list (core/power/dev_pm.c): the order prepare,
 * device suspends, enter, device resumes, wake; what runs when each step
 * refuses; and the answer when no platform registered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <vigil/dev_pm.h>
#include <vigil/platform_sleep.h>
#include <vigil/string.h>

static char trace[256];
static int fail_valid, fail_prepare, fail_enter;
static struct page_snapshot *seen_ps;

static void note(const char *s)
{
	size_t n = strlen(trace);
	snprintf(trace + n, sizeof(trace) - n, "%s%s", n ? " " : "", s);
}

static int p_valid(char *why, size_t len)
{
	note("valid");
	if (fail_valid)
		snprintf(why, len, "no sleep type");
	return fail_valid ? -1 : 0;
}

static int p_prepare(char *why, size_t len)
{
	note("prepare");
	if (fail_prepare)
		snprintf(why, len, "CPU 1 online");
	return fail_prepare ? -1 : 0;
}

static int p_enter(struct page_snapshot *ps, char *why, size_t len)
{
	note("enter");
	seen_ps = ps;
	if (fail_enter)
		snprintf(why, len, "still running");
	return fail_enter ? -1 : 0;
}

static void p_wake(void)
{
	note("wake");
}

static const struct platform_sleep_ops ops = { p_valid, p_prepare, p_enter, p_wake };

static void a_suspend(void) { note("a-suspend"); }
static void a_resume(void) { note("a-resume"); }
static void b_suspend(void) { note("b-suspend"); }
static void c_resume(void) { note("c-resume"); }

static struct dev_pm_ops dev_a = { .name = "a", .suspend = a_suspend, .resume = a_resume };
static struct dev_pm_ops dev_b = { .name = "b", .suspend = b_suspend };   /* no resume */
static struct dev_pm_ops dev_c = { .name = "c", .resume = c_resume };     /* no suspend */

static int reset(void **state)
{
	(void)state;
	trace[0] = 0;
	fail_valid = fail_prepare = fail_enter = 0;
	seen_ps = NULL;
	platform_sleep_set_ops(&ops);
	return 0;
}

static void no_platform_refuses(void **state)
{
	(void)state;
	char why[96] = "";
	platform_sleep_set_ops(NULL);
	assert_int_equal(platform_sleep_valid(why, sizeof(why)), -1);
	assert_string_equal(why, "no platform sleep support on this machine");
	why[0] = 0;
	assert_int_equal(platform_sleep_enter(NULL, why, sizeof(why)), -1);
	assert_string_equal(why, "no platform sleep support on this machine");
	assert_string_equal(trace, "");
}

static void full_cycle_in_order(void **state)
{
	(void)state;
	char why[96] = "";
	struct page_snapshot *ps = (struct page_snapshot *)&why;   /* any non-NULL token: passed through */
	assert_int_equal(platform_sleep_enter(ps, why, sizeof(why)), 0);
	assert_string_equal(trace, "valid prepare a-suspend b-suspend enter a-resume c-resume wake");
	assert_ptr_equal(seen_ps, ps);
}

static void invalid_runs_nothing_else(void **state)
{
	(void)state;
	char why[96] = "";
	fail_valid = 1;
	assert_int_equal(platform_sleep_enter(NULL, why, sizeof(why)), -1);
	assert_string_equal(why, "no sleep type");
	assert_string_equal(trace, "valid");
}

static void prepare_refusal_leaves_devices_alone(void **state)
{
	(void)state;
	char why[96] = "";
	fail_prepare = 1;
	assert_int_equal(platform_sleep_enter(NULL, why, sizeof(why)), -1);
	assert_string_equal(why, "CPU 1 online");
	assert_string_equal(trace, "valid prepare");
}

static void failed_enter_resumes_devices_but_no_wake(void **state)
{
	(void)state;
	char why[96] = "";
	fail_enter = 1;
	assert_int_equal(platform_sleep_enter(NULL, why, sizeof(why)), -1);
	assert_string_equal(why, "still running");
	assert_string_equal(trace, "valid prepare a-suspend b-suspend enter a-resume c-resume");
}

int main(void)
{
	dev_pm_register(&dev_a);
	dev_pm_register(&dev_b);
	dev_pm_register(&dev_c);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(no_platform_refuses, reset),
		cmocka_unit_test_setup(full_cycle_in_order, reset),
		cmocka_unit_test_setup(invalid_runs_nothing_else, reset),
		cmocka_unit_test_setup(prepare_refusal_leaves_devices_alone, reset),
		cmocka_unit_test_setup(failed_enter_resumes_devices_but_no_wake, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

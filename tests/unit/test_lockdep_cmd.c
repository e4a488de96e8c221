/*
 * The console command `lockdep` (core/lockdep_cmd.c) through the real shell:
 * the counter line, one line per violation, planted (expected) reports left
 * out, and the usage error.  The reply is compared byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/shell.h>
#include <vigil/string.h>

#include "host_sched.h"

/* The kernel generates these from the build (mk/kernel.mk). */
const char vigil_version[] = "0.1.0";
const char vigil_commit[] = "0123456789ab";
/* The shell's CPU arguments (shell_arg_cpu) read it; no CPU table here. */
unsigned nr_possible_cpus = 1;

static char out[8192];
static size_t out_len;

static void capture(const char *s, size_t n, void *arg)
{
	(void)arg;
	assert_true(out_len + n < sizeof(out));
	memcpy(out + out_len, s, n);
	out_len += n;
	out[out_len] = '\0';
}

static void run(const char *line)
{
	out_len = 0;
	out[0] = '\0';
	shell_init(capture, NULL);
	shell_exec_line(line);
}

static DEFINE_MUTEX(cmd_a);
static DEFINE_MUTEX(cmd_b);
static DEFINE_MUTEX(cmd_c);
static DEFINE_MUTEX(cmd_d);

static const int second_lock_line = __LINE__ + 4;   /* the mutex_lock(second) below */
static void take(struct mutex *first, struct mutex *second)
{
	mutex_lock(first);
	mutex_lock(second);
	mutex_unlock(second);
	mutex_unlock(first);
}

static void ab(void *arg) { (void)arg; take(&cmd_a, &cmd_b); }
static void ba(void *arg) { (void)arg; take(&cmd_b, &cmd_a); }

static void test_lockdep_command(void **state)
{
	(void)state;
	char want[1024];

	/* Nothing yet: classes and deps are whatever the shell itself used
	 * (nothing), no violations. */
	run("lockdep");
	assert_string_equal(out, "vigil> lockdep\nclasses=0 deps=0 violations=0\nok\nvigil> ");

	/* A planted cycle inside an expect window is not a violation. */
	lockdep_expect_begin();
	take(&cmd_c, &cmd_d);
	take(&cmd_d, &cmd_c);
	assert_int_equal(lockdep_expect_end(), 1);
	run("lockdep");
	assert_string_equal(out, "vigil> lockdep\nclasses=2 deps=2 violations=0\nok\nvigil> ");

	/* A real one is, with one line. */
	host_task_run(ab, NULL, 1, "ab");
	host_task_run(ba, NULL, 2, "ba");
	run("lockdep");
	snprintf(want, sizeof(want),
		 "vigil> lockdep\nclasses=4 deps=4 violations=1\n"
		 "violation=1 kind=cycle locks=cmd_b,cmd_a task=ba site=tests/unit/test_lockdep_cmd.c:%d\n"
		 "ok\nvigil> ",
		 second_lock_line);
	assert_string_equal(out, want);

	run("lockdep now");
	assert_string_equal(out, "vigil> lockdep now\nerror: usage: lockdep\nvigil> ");
	assert_non_null(shell_find("lockdep"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lockdep_command),
	};
	return cmocka_run_group_tests_name("lockdep_cmd", tests, NULL, NULL);
}

/* Console: `tasks`, one line per task with its stack high-water mark. */
#include <vigil/mm.h>
#include <vigil/sched.h>
#include <vigil/shell.h>
#include <vigil/string.h>
#include <vigil/task.h>

#include "task_stack.h"

#define TASKS_MAX 512

struct task_row {
	unsigned id, cpu;
	int state;
	char name[TASK_NAME_LEN];
	size_t used;
	bool own_stack;
};

struct rows {
	struct task_row *r;
	unsigned n, more;
};

/* Under the task list's lock: copy, print later (printing may sleep). */
static void collect(struct task *t, void *arg)
{
	struct rows *rows = arg;
	if (rows->n >= TASKS_MAX) {
		rows->more++;
		return;
	}
	struct task_row *r = &rows->r[rows->n++];
	r->id = t->id;
	r->cpu = t->cpu;
	r->state = t->state;
	strlcpy(r->name, t->name, sizeof(r->name));
	r->own_stack = t->stack_phys != 0;
	r->used = sched_task_stack_used(t);
}

static const char *state_name(int s)
{
	return s == TASK_RUNNING ? "running" : s == TASK_BLOCKED ? "blocked" : "dead";
}

static int cmd_tasks(struct shell_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct rows rows = {kzalloc(sizeof(struct task_row) * TASKS_MAX), 0, 0};
	if (!rows.r)
		return shell_error(ctx, "out of memory");
	sched_for_each_task(collect, &rows);
	for (unsigned i = 0; i < rows.n; i++) {
		const struct task_row *r = &rows.r[i];
		if (r->own_stack)
			shell_printf(ctx, "task=%u name=%s cpu=%u state=%s stack_used=%zu stack_size=%zu\n", r->id,
				     r->name, r->cpu, state_name(r->state), r->used, TASK_STACK_BYTES);
		else
			shell_printf(ctx, "task=%u name=%s cpu=%u state=%s stack_used=- stack_size=-\n", r->id, r->name,
				     r->cpu, state_name(r->state));
	}
	if (rows.more)
		shell_printf(ctx, "more=%u\n", rows.more);
	kfree(rows.r);
	return 0;
}
SHELL_CMD(tasks, "tasks", .run = cmd_tasks,
	  .help = "One line per task: id, name, CPU, state and its stack's high-water mark (bytes ever\n"
		   "used of its stack; '-' for tasks on a boot stack, which have no guard page).");

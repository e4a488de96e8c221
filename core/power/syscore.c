/* The syscore list (include/vigil/syscore.h). */
#include <vigil/lockdep.h>
#include <vigil/mutex.h>
#include <vigil/syscore.h>

static LIST_HEAD(syscore_list);
static DEFINE_MUTEX(syscore_mutex);

static bool registered_locked(const struct syscore_ops *ops)
{
	for (struct list_head *p = syscore_list.next; p != &syscore_list; p = p->next)
		if (p == &ops->node)
			return true;
	return false;
}

int register_syscore_ops(struct syscore_ops *ops)
{
	mutex_lock(&syscore_mutex);
	int r = -1;
	if (!registered_locked(ops)) {
		list_add_tail(&ops->node, &syscore_list);
		r = 0;
	}
	mutex_unlock(&syscore_mutex);
	return r;
}

void unregister_syscore_ops(struct syscore_ops *ops)
{
	mutex_lock(&syscore_mutex);
	if (registered_locked(ops))
		list_del_init(&ops->node);
	mutex_unlock(&syscore_mutex);
}

void syscore_suspend(void)
{
	lockdep_assert_irqs_disabled();
	for (struct list_head *p = syscore_list.prev; p != &syscore_list; p = p->prev) {
		struct syscore_ops *ops = list_entry(p, struct syscore_ops, node);
		if (ops->suspend)
			ops->suspend();
	}
}

void syscore_resume(void)
{
	lockdep_assert_irqs_disabled();
	for (struct list_head *p = syscore_list.next; p != &syscore_list; p = p->next) {
		struct syscore_ops *ops = list_entry(p, struct syscore_ops, node);
		if (ops->resume)
			ops->resume();
	}
}

bool syscore_resume_problem(char *why, size_t len)
{
	bool found = false;
	mutex_lock(&syscore_mutex);
	for (struct list_head *p = syscore_list.next; p != &syscore_list && !found; p = p->next) {
		struct syscore_ops *ops = list_entry(p, struct syscore_ops, node);
		found = ops->resume_problem && ops->resume_problem(why, len);
	}
	mutex_unlock(&syscore_mutex);
	return found;
}

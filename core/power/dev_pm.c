/* Device suspend/resume callbacks (include/vigil/dev_pm.h). */
#include <vigil/dev_pm.h>

static LIST_HEAD(dev_pm_list);

void dev_pm_register(struct dev_pm_ops *ops)
{
	list_add_tail(&ops->node, &dev_pm_list);
}

void dev_pm_suspend(void)
{
	struct dev_pm_ops *ops;
	list_for_each_entry(ops, &dev_pm_list, node)
		if (ops->suspend)
			ops->suspend();
}

void dev_pm_resume(void)
{
	struct dev_pm_ops *ops;
	list_for_each_entry(ops, &dev_pm_list, node)
		if (ops->resume)
			ops->resume();
}

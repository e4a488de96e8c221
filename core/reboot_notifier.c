/* The reboot notifier list (include/vigil/reboot.h). */
#include <vigil/mutex.h>
#include <vigil/reboot.h>

static LIST_HEAD(reboot_list);
static DEFINE_MUTEX(reboot_mutex);

static bool registered_locked(const struct reboot_notifier *nb)
{
	for (struct list_head *p = reboot_list.next; p != &reboot_list; p = p->next)
		if (p == &nb->node)
			return true;
	return false;
}

int register_reboot_notifier(struct reboot_notifier *nb)
{
	mutex_lock(&reboot_mutex);
	int r = -1;
	if (!registered_locked(nb)) {
		/* Before the first entry of lower priority: ties keep
		 * registration order. */
		struct list_head *p = reboot_list.next;
		while (p != &reboot_list && list_entry(p, struct reboot_notifier, node)->priority >= nb->priority)
			p = p->next;
		list_add_tail(&nb->node, p);
		r = 0;
	}
	mutex_unlock(&reboot_mutex);
	return r;
}

void unregister_reboot_notifier(struct reboot_notifier *nb)
{
	mutex_lock(&reboot_mutex);
	if (registered_locked(nb))
		list_del_init(&nb->node);
	mutex_unlock(&reboot_mutex);
}

unsigned reboot_notify(const char *action)
{
	unsigned n = 0;
	mutex_lock(&reboot_mutex);
	for (struct list_head *p = reboot_list.next; p != &reboot_list; p = p->next) {
		list_entry(p, struct reboot_notifier, node)->notify(action);
		n++;
	}
	mutex_unlock(&reboot_mutex);
	return n;
}

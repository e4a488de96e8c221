/* The platform sleep sequence (include/vigil/platform_sleep.h). */
#include <vigil/dev_pm.h>
#include <vigil/platform_sleep.h>
#include <vigil/string.h>

static const struct platform_sleep_ops *platform;

void platform_sleep_set_ops(const struct platform_sleep_ops *ops)
{
	platform = ops;
}

int platform_sleep_valid(char *why, size_t len)
{
	if (!platform) {
		snprintf(why, len, "no platform sleep support on this machine");
		return -1;
	}
	return platform->valid(why, len);
}

int platform_sleep_enter(struct page_snapshot *ps, char *why, size_t len)
{
	if (platform_sleep_valid(why, len) != 0 || platform->prepare(why, len) != 0)
		return -1;
	dev_pm_suspend();
	int r = platform->enter(ps, why, len);
	dev_pm_resume();
	if (r == 0)
		platform->wake();
	return r;
}

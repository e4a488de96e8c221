/* Between the freezer and the suspend sequence (core/power/). */
#ifndef CORE_POWER_FREEZER_INTERNAL_H
#define CORE_POWER_FREEZER_INTERNAL_H
#include <vigil/types.h>

#define FREEZE_TIMEOUT_NS (5ULL * 1000000000ULL)
int freeze_tasks(char *why, size_t len);
void thaw_tasks(void);
#endif

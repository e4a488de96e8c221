/* The hotplug states registered in a test without core/hotplug
 * (tests/unit/host_cpuhp_none.c), in registration order. */
#ifndef HOST_CPUHP_NONE_H
#define HOST_CPUHP_NONE_H
#include <vigil/cpuhp.h>
struct host_cpuhp_none_state {
	const char *name;
	cpuhp_startup_fn startup;
	cpuhp_teardown_fn teardown;
};
extern struct host_cpuhp_none_state host_cpuhp_none_states[4];
extern unsigned host_cpuhp_none_count;
#endif

/*
 * For host tests that link the virtualization usage core without the
 * hotplug state machine (core/hotplug/hotplug.c): the ONLINE state
 * registration virt_init makes, recorded so a test can check what was
 * registered and call it as the hotplug thread would.
 */
#include <vigil/cpuhp.h>
#include "host_cpuhp_none.h"

struct host_cpuhp_none_state host_cpuhp_none_states[4];
unsigned host_cpuhp_none_count;

int cpuhp_setup_state_nocalls(const char *name, cpuhp_startup_fn startup, cpuhp_teardown_fn teardown)
{
	if (host_cpuhp_none_count >= 4)
		return -1;
	host_cpuhp_none_states[host_cpuhp_none_count] =
		(struct host_cpuhp_none_state){ name, startup, teardown };
	return (int)host_cpuhp_none_count++;
}

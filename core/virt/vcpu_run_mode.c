/* Guest mode around the backends' entries (include/vigil/virt.h): the
 * vCPU side of the request/kick handshake of include/vigil/vcpu_request.h,
 * so a kick really gets a running guest out and a request set before an
 * entry ends the run instead of being missed. */
#include <vigil/vcpu_request.h>
#include <vigil/virt.h>

bool vcpu_run_enter_guest_mode(struct vcpu_run *run, unsigned cpu)
{
	if (!run->req || vcpu_enter_guest_mode(run->req, cpu, NULL, NULL))
		return true;
	run->requested = true;
	return false;
}

void vcpu_run_exit_guest_mode(struct vcpu_run *run)
{
	if (run->req)
		vcpu_exit_guest_mode(run->req);
}

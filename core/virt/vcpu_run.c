/* Bookkeeping of a vcpu_run that does not depend on the technology (the
 * backends' run loops call it; include/vigil/virt.h). */
#include <vigil/string.h>
#include <vigil/virt.h>

void vcpu_run_reset(struct vcpu_run *run)
{
	run->exits = 0;
	memset(run->exit_count, 0, sizeof(run->exit_count));
	run->last_exit = VEXIT_NONE;
	run->hypercalls = 0;
	run->guest_ns = 0;
	run->timer_ticks = 0;
	run->guest_failed = false;
	run->requested = false;
	run->why[0] = 0;
}

void vcpu_run_count_exit(struct vcpu_run *run, enum vexit e)
{
	run->exits++;
	run->exit_count[e]++;
	run->last_exit = e;
}

bool vcpu_run_stop_asked(struct vcpu_run *run)
{
	if (!run->stop || run->exits % VCPU_STOP_POLL_EXITS != 0 || !run->stop())
		return false;
	run->interrupted = true;
	return true;
}

bool vm_gpa_in_slot(const struct vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < VM_MAX_SLOTS; i++) {
		const struct vm_slot *s = &vm->slots[i];
		if (s->used && gpa >= s->gpa && gpa - s->gpa < s->size)
			return true;
	}
	return false;
}

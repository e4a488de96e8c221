# The live-vCPU core (core/virt/vcpu.c, vm_live.c, vcpu_hotplug.c,
# vcpu_check.c, vcpu_request.c: the real code) against a fake backend that
# checks every call's context, on host_smp's fake CPUs under
# ThreadSanitizer: start, progress and stop; every life-cycle misuse named;
# pause parks every vCPU outside the guest; a CPU going offline sees its
# vCPUs leave (a pin to it dropped) before its virtualization goes off, and
# none enters there until it is back; freezing parks every vCPU, across CPUs
# going down and up; a failed vCPU shows in `check`; reboot's latch keeps
# every vCPU out.
UNIT_TESTS += vcpu_loop
vcpu_loop_SRCS = tests/unit/test_vcpu_loop.c tests/unit/host_cpuhp_none.c \
	core/virt/vcpu.c core/virt/vm_gate.c core/virt/vm_live.c core/virt/vcpu_hotplug.c core/virt/vcpu_check.c \
	core/virt/vcpu_request.c core/check.c $(HOST_SMP_SRCS) $(SYNC_HOST_SRCS)
vcpu_loop_SAN := thread
vcpu_loop_CFLAGS := -Icore/virt

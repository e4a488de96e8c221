# The entry gate of atomic slot updates (core/virt/vm_gate.c, the real code):
# vCPU threads on fake CPUs loop indicator -> guest mode -> "guest" -> exit
# handling while an updater closes the gate, kicks and waits: the updater
# never proceeds while a vCPU is inside, blocked vCPUs sleep and resume, a
# simulated CPU offline and a freeze in the middle of an update finish.
# ThreadSanitizer.
UNIT_TESTS += vm_gate
vm_gate_SRCS = tests/unit/test_vm_gate.c core/virt/vm_gate.c $(SYNC_HOST_SRCS)
vm_gate_SAN := thread

# The technology-neutral bookkeeping of a vcpu_run (core/virt/vcpu_run.c):
# resetting a run's results, counting exits, whether a gpa lies in a slot.
UNIT_TESTS += vcpu_run
vcpu_run_SRCS = tests/unit/test_vcpu_run.c core/virt/vcpu_run.c

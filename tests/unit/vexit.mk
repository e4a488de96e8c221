# The one exit layer under both technologies (arch/x86/virt/vexit.c, the real
# arch code: pure logic over a decoded exit and four registers, with the
# shared CPUID answer of arch/x86/virt/guest_cpuid.c): what every exit
# reason gets, the hypercall ABIs, the accounting, and GUEST_PATTERN's
# memory layout.
UNIT_TESTS += vexit
vexit_SRCS = tests/unit/test_vexit.c arch/x86/virt/vexit.c arch/x86/virt/guest_cpuid.c core/virt/vcpu_run.c
vexit_CFLAGS := -Iarch/x86/include

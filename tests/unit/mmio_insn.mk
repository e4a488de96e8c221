# The MMIO exit's instruction decoder (arch/x86/virt/mmio_insn.c): pure logic
# over the guest's instruction bytes.
UNIT_TESTS += mmio_insn
mmio_insn_SRCS = tests/unit/test_mmio_insn.c arch/x86/virt/mmio_insn.c
mmio_insn_CFLAGS := -Iarch/x86/include

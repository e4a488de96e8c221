# ACPI table parser (drivers/acpi/) against synthetic tables in fake memory.
# (sleep.c is the kernel's register access, not parsing: kernel-only.)
UNIT_TESTS += acpi
acpi_SRCS := tests/unit/test_acpi.c tests/unit/acpi_builder.c $(filter-out drivers/acpi/sleep.c,$(sort $(wildcard drivers/acpi/*.c)))
# unit.mk's rule only watches include/vigil/*.h and tests/unit/*.h.

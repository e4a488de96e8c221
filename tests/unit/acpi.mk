# ACPI table parser (drivers/acpi/) against synthetic tables in fake memory.
UNIT_TESTS += acpi
acpi_SRCS := tests/unit/test_acpi.c tests/unit/acpi_builder.c $(sort $(wildcard drivers/acpi/*.c))
# unit.mk's rule only watches include/vigil/*.h and tests/unit/*.h.

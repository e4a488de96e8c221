# The \_Sx sleep-type scan over AML (drivers/acpi/aml_sleep.c).
UNIT_TESTS += acpi_aml
acpi_aml_SRCS := tests/unit/test_acpi_aml.c $(filter-out drivers/acpi/sleep.c,$(sort $(wildcard drivers/acpi/*.c)))

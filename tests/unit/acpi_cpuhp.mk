# QEMU's CPU-hotplug block: the DSDT scan (drivers/acpi/aml_cpuhp.c) and the
# register protocol (drivers/acpi/cpuhp_block.c) against a model of QEMU's
# registers, legacy switch included.
UNIT_TESTS += acpi_cpuhp
acpi_cpuhp_SRCS := tests/unit/test_acpi_cpuhp.c $(sort $(wildcard drivers/acpi/*.c))

# acpi_parse() against randomly corrupted and truncated tables (ASan catches
# any read beyond what the parser mapped).
UNIT_TESTS += acpi_robust
acpi_robust_SRCS := tests/unit/test_acpi_robust.c tests/unit/acpi_builder.c \
	$(filter-out drivers/acpi/sleep.c,$(sort $(wildcard drivers/acpi/*.c)))

# The serial console's address checks (console=, SPCR): physical address
# width, alignment, the kernel image and RAM in the memory map; SPCR to port.
UNIT_TESTS += serial_check
serial_check_SRCS := tests/unit/test_serial_check.c core/console/serial_check.c

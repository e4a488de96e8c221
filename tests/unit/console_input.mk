# Console input: the ring buffer, Ctrl-C reaching a running command, the
# type-ahead it consumes, bytes dropped when the ring is full, burst figures.
UNIT_TESTS += console_input
console_input_SRCS := tests/unit/test_console_input.c core/console/console_input.c \
	core/console/input_ring.c

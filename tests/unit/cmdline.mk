# Boot command line: every parameter kind, quoting, unknown and malformed
# parameters and their messages.
UNIT_TESTS += cmdline
cmdline_SRCS := tests/unit/test_cmdline.c core/cmdline.c core/boot_params.c \
	core/console/console_param.c core/console/autorun_param.c core/lib/kstrto.c

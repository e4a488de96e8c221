# Console shell: reply framing, error messages, argument helpers, builtins,
# typed input and the autorun transcript.
UNIT_TESTS += shell
shell_SRCS := tests/unit/test_shell.c core/console/shell.c core/console/shell_args.c core/console/shell_dispatch.c \
	core/console/shell_builtins.c core/console/line_editor.c core/console/autorun.c \
	core/lib/kstrto.c

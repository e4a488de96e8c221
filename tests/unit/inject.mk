# Fault-injection points (core/inject.c, the real code): a hit consumes the
# count on the armed CPU only; the self-tests' arm-once/restore pair leaves
# a point exactly as it found it.
UNIT_TESTS += inject
inject_SRCS = tests/unit/test_inject.c core/inject.c core/console/shell.c core/console/shell_args.c core/console/shell_dispatch.c \
	core/console/shell_builtins.c core/console/line_editor.c core/console/autorun.c core/lib/kstrto.c

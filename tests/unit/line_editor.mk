# Console line editor: editing keys, end-of-line conventions, the 255-byte limit.
UNIT_TESTS += line_editor
line_editor_SRCS := tests/unit/test_line_editor.c core/console/line_editor.c

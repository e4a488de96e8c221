# The framebuffer text console: drivers/fb's renderer drawing into malloc'd
# framebuffers, checked pixel by pixel.
UNIT_TESTS += fbcon
fbcon_SRCS := tests/unit/test_fbcon.c drivers/fb/fbcon.c drivers/fb/fbtext.c drivers/fb/font8x16.c
fbcon_CFLAGS := -Idrivers/fb
# The unit rule only tracks include/vigil and tests/unit headers.

# The freestanding C library: vsnprintf against the host libc, number parsing,
# strlcpy.  (The standard mem*/str* functions are kernel-only; the host test
# covers them by building core/lib/string.c's kernel half under other names.)
UNIT_TESTS += lib
lib_SRCS := tests/unit/test_lib.c tests/unit/lib_kstring.c core/lib/kstrto.c core/lib/vsnprintf.c

# The platform sleep sequence and the device callback list (core/power):
# prepare, device suspends, enter, device resumes, wake, in that order;
# what runs when a step refuses; no platform registered.
UNIT_TESTS += platform_sleep
platform_sleep_SRCS := tests/unit/test_platform_sleep.c core/power/platform_sleep.c core/power/dev_pm.c \
	core/lib/vsnprintf.c

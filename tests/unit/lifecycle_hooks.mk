# The registration interfaces subsystems offer to anyone (syscore ops,
# reboot notifiers, emergency callbacks; include/vigil/syscore.h, reboot.h,
# emergency.h): call order, removal, double registration, and the emergency
# walk running on many threads at once while callbacks are unregistered
# (ThreadSanitizer; no callback runs after unregister returns).
UNIT_TESTS += lifecycle_hooks
lifecycle_hooks_SRCS = tests/unit/test_lifecycle_hooks.c core/power/syscore.c core/reboot_notifier.c \
	core/emergency.c $(SYNC_HOST_SRCS)
lifecycle_hooks_SAN := thread

# Host unit tests (cmocka).  Each tests/unit/<name>.mk adds one test:
#     UNIT_TESTS += <name>
#     <name>_SRCS := tests/unit/test_<name>.c core/... (the real core/ sources under test)
# Core code is compiled for the host with VIGIL_HOST defined, under
# AddressSanitizer + UndefinedBehaviorSanitizer (or ThreadSanitizer for tests
# that set <name>_SAN := thread).

HOST_CC     ?= gcc
HOST_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -Iinclude -Itests/unit -DVIGIL_HOST \
	-fno-omit-frame-pointer
SAN_address := -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_thread  := -fsanitize=thread

UNIT_TESTS :=
include $(filter-out tests/unit/unit.mk,$(sort $(wildcard tests/unit/*.mk)))

unit_bin = $(BUILD)/unit/$(1)
UNIT_BINS := $(foreach t,$(UNIT_TESTS),$(call unit_bin,$(t)))

define unit_rule
$(call unit_bin,$(1)): $$($(1)_SRCS) $$(wildcard include/vigil/*.h tests/unit/*.h) | $(BUILD)/.tools-ok
	@mkdir -p $$(dir $$@)
	$$(HOST_CC) $$(HOST_CFLAGS) $$(SAN_$$(or $$($(1)_SAN),address)) $$($(1)_CFLAGS) \
		$$($(1)_SRCS) -o $$@ -lcmocka -lpthread
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

unit: $(UNIT_BINS)
	@python3 tools/run-unit-tests.py $(UNIT_BINS)

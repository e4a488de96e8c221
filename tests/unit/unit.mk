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
unit_objs = $(patsubst %.c,$(BUILD)/unit/obj/$(1)/%.o,$($(1)_SRCS))
UNIT_BINS := $(foreach t,$(UNIT_TESTS),$(call unit_bin,$(t)))

# Each test compiles its sources into its own object directory (its sanitizer
# and <name>_CFLAGS apply to all of them); -MMD -MP records every header and
# every #included .c file, so no .mk file lists dependencies by hand.
define unit_rule
$(BUILD)/unit/obj/$(1)/%.o: %.c | $(BUILD)/.tools-ok
	@mkdir -p $$(dir $$@)
	$$(HOST_CC) $$(HOST_CFLAGS) $$(SAN_$$(or $$($(1)_SAN),address)) $$($(1)_CFLAGS) -MMD -MP -c $$< -o $$@
$(call unit_bin,$(1)): $(call unit_objs,$(1))
	$$(HOST_CC) $$(SAN_$$(or $$($(1)_SAN),address)) $$^ -o $$@ -lcmocka -lpthread
-include $(patsubst %.o,%.d,$(call unit_objs,$(1)))
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

unit: $(UNIT_BINS)
	@python3 tools/run-unit-tests.py $(UNIT_BINS)

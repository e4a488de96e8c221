# The kernel: a freestanding, non-PIC x86-64 ELF linked at KERNEL_VIRT_BASE.
# Every .c/.asm under core/, arch/x86/, drivers/ and boot/multiboot2/, at any
# depth, is part of it (one concept per file; adding a file or a directory
# needs no Makefile edit).
#
# core/ is architecture-neutral (docs/HACKING.md): its objects are compiled
# without arch/x86/include on the include path, so `#include <asm/...>` in
# core/ is a compile error, not just a lint finding.

KCC      := gcc
KCFLAGS  := -std=c11 -O2 -g -Wall -Wextra -Werror -Wframe-larger-than=2048 -ffreestanding -fno-builtin \
	-nostdinc -isystem $(shell $(KCC) -print-file-name=include) \
	-mno-red-zone -mcmodel=kernel -mgeneral-regs-only -mno-sse -mno-mmx -mno-sse2 \
	-fno-pic -fno-pie -fno-stack-protector -fno-omit-frame-pointer -fno-strict-aliasing \
	-fno-asynchronous-unwind-tables -fcf-protection=none \
	-Iinclude -DVIGIL_KERNEL
# Include path for everything that is not core/ (arch, drivers, boot).
KARCH_INC := -Iarch/x86/include
KASFLAGS := -f elf64 -g -F dwarf -Iarch/x86/include/
KLDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments

# KEXCLUDE: patterns of sources to leave out (e.g. a backend under construction).
KSRC_DIRS := core arch/x86 drivers boot/multiboot2
KSRC_C   := $(filter-out $(KEXCLUDE),$(sort $(shell find $(KSRC_DIRS) -name '*.c')))
KSRC_ASM := $(filter-out $(KEXCLUDE),$(sort $(shell find $(KSRC_DIRS) -name '*.asm')))
KOBJ     := $(patsubst %.c,$(BUILD)/kernel/%.o,$(KSRC_C)) $(patsubst %.asm,$(BUILD)/kernel/%.o,$(KSRC_ASM))
KLDS     := arch/x86/kernel.ld
KELF     := $(BUILD)/kernel/vigil.elf

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
VIGIL_VERSION := 0.1.0

.PHONY: kernel
kernel: $(KELF)

$(BUILD)/kernel/%.o: %.c | $(BUILD)/.tools-ok
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(KCC) $(KCFLAGS) $(if $(filter core/%,$<),,$(KARCH_INC)) -MMD -MP -c $< -o $@

$(BUILD)/kernel/%.o: %.asm | $(BUILD)/.tools-ok
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@# Dependencies in a pass of their own: nasm 2.16's -MD, given with -o,
	@# lists only the source file and not what it %includes.
	$(Q)nasm $(KASFLAGS) -M -MP -MT $@ -MF $(@:.o=.d) $<
	$(Q)nasm $(KASFLAGS) $< -o $@

# Build identity, regenerated when the commit changes.
$(BUILD)/kernel/version.c: FORCE
	@mkdir -p $(dir $@)
	@printf 'const char vigil_version[] = "%s";\nconst char vigil_commit[] = "%s";\n' \
		"$(VIGIL_VERSION)" "$(GIT_COMMIT)" > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/kernel/version.o: $(BUILD)/kernel/version.c
	$(Q)$(KCC) $(KCFLAGS) -c $< -o $@

# Symbols for backtraces: link once with an empty table, list the text
# symbols, link again with the table.  The table lives in .ksyms, placed after
# .text/.rodata/.data by the linker script, so code addresses do not move.
$(BUILD)/kernel/ksyms0.o: tools/gen-ksyms.py | $(BUILD)/.tools-ok
	@mkdir -p $(dir $@)
	$(Q)python3 tools/gen-ksyms.py --empty > $(BUILD)/kernel/ksyms0.c
	$(Q)$(KCC) $(KCFLAGS) -c $(BUILD)/kernel/ksyms0.c -o $@

$(KELF): $(KOBJ) $(BUILD)/kernel/version.o $(BUILD)/kernel/ksyms0.o $(KLDS) tools/gen-ksyms.py
	@echo "  LD      $@"
	$(Q)ld $(KLDFLAGS) -T $(KLDS) -o $@.pass1 $(KOBJ) $(BUILD)/kernel/version.o $(BUILD)/kernel/ksyms0.o
	$(Q)nm -n $@.pass1 | python3 tools/gen-ksyms.py > $(BUILD)/kernel/ksyms.c
	$(Q)$(KCC) $(KCFLAGS) -c $(BUILD)/kernel/ksyms.c -o $(BUILD)/kernel/ksyms.o
	$(Q)ld $(KLDFLAGS) -T $(KLDS) -o $@ $(KOBJ) $(BUILD)/kernel/version.o $(BUILD)/kernel/ksyms.o
	@nm -n $@ | grep -iE ' [tw] ' | awk '{print $$1, $$3}' > $@.text-syms
	@nm -n $@.pass1 | grep -iE ' [tw] ' | awk '{print $$1, $$3}' | cmp -s - $@.text-syms || \
		{ echo "ksyms: text moved between link passes" >&2; rm -f $@; exit 1; }

.PHONY: FORCE
FORCE:

-include $(KOBJ:.o=.d)
# Build directories whose .d files predate the dependency pass above.
$(patsubst %.asm,$(BUILD)/kernel/%.o,$(KSRC_ASM)): $(wildcard arch/x86/include/asm/*.inc)

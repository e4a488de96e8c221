# The UEFI loader (BOOTX64.EFI) and the ESP tree it boots from.
#
#   $(BUILD)/esp/EFI/BOOT/BOOTX64.EFI   the loader (removable-media default path)
#   $(BUILD)/esp/vigil/vigil.elf        copy of $(KELF)
#   $(BUILD)/esp/vigil/cmdline.txt      $(CMDLINE), may be empty
#
#   make efi                           loader + ESP for $(KELF)
#   make efi EFI_CMDLINE="maxcpus=2"   command line file (default: $(CMDLINE))
#   make efi EFI_KELF=path/to/elf      put another kernel ELF on the ESP
#
# gnu-efi: every boot/efi/*.c is compiled position independent and linked as
# a shared object with gnu-efi's crt0 (which applies its own relocations at
# start-up), then objcopy rewrites it as a PE32+ EFI application.
# GNU_EFI_USE_MS_ABI: firmware calls go straight through the ms_abi
# prototypes in the headers (no uefi_call_wrapper), like the Debian libefi.

EFI_INC    := /usr/include/efi
EFI_LIBDIR := /usr/lib
EFI_CRT0   := $(EFI_LIBDIR)/crt0-efi-x86_64.o
EFI_LDS    := $(EFI_LIBDIR)/elf_x86_64_efi.lds
EFI_ESP    := $(BUILD)/esp
EFI_KELF   ?= $(KELF)
EFI_CMDLINE ?= $(CMDLINE)

EFI_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fpic -fshort-wchar -mno-red-zone -fno-stack-protector \
	-fno-strict-aliasing -fno-asynchronous-unwind-tables -fcf-protection=none \
	-nostdinc -isystem $(shell gcc -print-file-name=include) \
	-I$(EFI_INC) -I$(EFI_INC)/x86_64 -Iinclude \
	-DGNU_EFI_USE_MS_ABI -DVIGIL_EFI_VERSION='"$(or $(VIGIL_VERSION),0.1.0)"'
EFI_LDFLAGS := -nostdlib -znocombreloc -shared -Bsymbolic --no-undefined \
	-z noexecstack --no-warn-rwx-segments -T $(EFI_LDS) -L$(EFI_LIBDIR)
# Sections that make up the PE image (the rest is ELF bookkeeping or debug).
EFI_SECTIONS := -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym \
	-j .rel -j .rela -j .rel.* -j .rela.* -j .reloc

EFI_SRC := $(sort $(wildcard boot/efi/*.c))
EFI_OBJ := $(patsubst %.c,$(BUILD)/efi/%.o,$(EFI_SRC))
EFI_SO  := $(BUILD)/efi/vigil-efi.so
EFI_APP := $(BUILD)/efi/BOOTX64.EFI

.PHONY: efi
efi: $(EFI_ESP)/EFI/BOOT/BOOTX64.EFI $(EFI_ESP)/vigil/vigil.elf $(EFI_ESP)/vigil/cmdline.txt

$(BUILD)/efi/%.o: %.c | $(BUILD)/.tools-ok
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)gcc $(EFI_CFLAGS) -MMD -MP -c $< -o $@

$(EFI_SO): $(EFI_OBJ) $(EFI_CRT0) $(EFI_LDS)
	@echo "  LD      $@"
	$(Q)ld $(EFI_LDFLAGS) $(EFI_CRT0) $(EFI_OBJ) -o $@ -lefi -lgnuefi

$(EFI_APP): $(EFI_SO)
	@echo "  EFI     $@"
	$(Q)objcopy $(EFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $< $@

$(EFI_ESP)/EFI/BOOT/BOOTX64.EFI: $(EFI_APP)
	@mkdir -p $(dir $@)
	$(Q)cp $< $@

$(EFI_ESP)/vigil/vigil.elf: $(EFI_KELF)
	@mkdir -p $(dir $@)
	$(Q)cp $< $@

# Rewritten only when the command line changes, so the ESP's timestamps stay
# put.  Single quotes are escaped for the shell; a dollar sign must be written
# twice ($$), as anywhere in a make variable.
$(EFI_ESP)/vigil/cmdline.txt: FORCE
	@mkdir -p $(dir $@)
	@printf '%s' '$(subst ','\'',$(EFI_CMDLINE))' > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@

-include $(EFI_OBJ:.o=.d)

# The GRUB (Multiboot2) boot image, $(BUILD)/vigil.iso: boots from a legacy
# BIOS (El Torito, i386-pc) and, since grub-mkrescue adds every platform it
# finds installed, from UEFI (x86_64-efi) too.  The kernel inside is the same
# ELF the EFI loader boots; GRUB enters it through boot/multiboot2/.
#
#   make iso                           image with an empty command line
#   make iso ISO_CMDLINE="maxcpus=2"   kernel command line (default: $(CMDLINE))
#   make iso ISO_GFXPAYLOAD=text       keep VGA text mode: no framebuffer for
#                                      the kernel, serial console only (faster
#                                      under Bochs); default: whatever the
#                                      kernel's Multiboot2 header asks for
#   make iso ISO_KELF=path/to/elf      put another kernel ELF in the image
#
# The command line must not contain a single quote; GRUB itself treats
# $, ;, quotes and backslashes specially.

ISO            := $(BUILD)/vigil.iso
ISO_ROOT       := $(BUILD)/iso-root
ISO_CMDLINE    ?= $(CMDLINE)
ISO_GFXPAYLOAD ?=
ISO_KELF       ?= $(KELF)

# sed replacement text: escape \ & and the | delimiter.
iso_sed_escape = $(subst |,\|,$(subst &,\&,$(subst \,\\,$(1))))
ISO_GFX_LINE   := $(if $(ISO_GFXPAYLOAD),set gfxpayload=$(ISO_GFXPAYLOAD))

.PHONY: iso
iso: $(ISO)

# Rewritten only when the result changes: a new command line rebuilds the
# image, an unchanged one does not.
$(ISO_ROOT)/boot/grub/grub.cfg: boot/multiboot2/grub.cfg FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@CMDLINE@|$(call iso_sed_escape,$(ISO_CMDLINE))|' \
	     -e 's|@GFXPAYLOAD@|$(call iso_sed_escape,$(ISO_GFX_LINE))|' $< > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@

# GRUB loads every non-allocated ELF section into memory too; without the
# DWARF the image boots noticeably faster under Bochs.  The symbols for
# backtraces are in the kernel's own .ksyms section, so nothing is lost.
$(ISO_ROOT)/boot/vigil.elf: $(ISO_KELF)
	@mkdir -p $(dir $@)
	objcopy --strip-debug $< $@

$(ISO): $(ISO_ROOT)/boot/grub/grub.cfg $(ISO_ROOT)/boot/vigil.elf | $(BUILD)/.tools-ok
	@rm -f $@
	grub-mkrescue --locales= --fonts= --themes= -o $@ $(ISO_ROOT) > $(BUILD)/grub-mkrescue.log 2>&1 || \
		{ cat $(BUILD)/grub-mkrescue.log >&2; rm -f $@; exit 1; }

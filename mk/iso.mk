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
# Each word of the command line reaches GRUB single-quoted, so GRUB's special
# characters ($ ; | & < > { }) pass through; a word must not contain a
# single quote, and GRUB escapes double quotes and backslashes with a
# backslash when it builds the kernel's command line.

ISO            := $(BUILD)/vigil.iso
ISO_ROOT       := $(BUILD)/iso-root
ISO_CMDLINE    ?= $(CMDLINE)
ISO_GFXPAYLOAD ?=
ISO_KELF       ?= $(KELF)

iso_cmdline_words = $(foreach w,$(ISO_CMDLINE),'$(w)')
iso_gfx_line      = $(if $(ISO_GFXPAYLOAD),set gfxpayload=$(ISO_GFXPAYLOAD))
iso_grub_cfg      = $(subst @GFXPAYLOAD@,$(iso_gfx_line),$(subst @CMDLINE@,$(iso_cmdline_words),$(file <boot/multiboot2/grub.cfg)))

.PHONY: iso
iso: $(ISO)

# Rewritten only when the result changes: a new command line rebuilds the
# image, an unchanged one does not.  Make writes the file itself ($(file)), so
# no shell quoting gets in the way; make expands the whole recipe before it
# runs, hence the temporary file directly in $(BUILD) (made by .tools-ok).
$(ISO_ROOT)/boot/grub/grub.cfg: boot/multiboot2/grub.cfg FORCE | $(BUILD)/.tools-ok
	$(file >$(BUILD)/grub.cfg.tmp,$(iso_grub_cfg))
	@mkdir -p $(dir $@)
	@cmp -s $(BUILD)/grub.cfg.tmp $@ 2>/dev/null && rm -f $(BUILD)/grub.cfg.tmp || mv $(BUILD)/grub.cfg.tmp $@

# GRUB's Multiboot2 loader copies every non-allocated ELF section into memory
# too, and the DWARF is most of the file (450 KiB -> 120 KiB today).  Nothing
# is lost: backtraces use the kernel's own .ksyms section, and gdb takes the
# symbols from $(KELF).
$(ISO_ROOT)/boot/vigil.elf: $(ISO_KELF)
	@mkdir -p $(dir $@)
	objcopy --strip-debug $< $@

$(ISO): $(ISO_ROOT)/boot/grub/grub.cfg $(ISO_ROOT)/boot/vigil.elf | $(BUILD)/.tools-ok
	@rm -f $@
	grub-mkrescue --locales= --fonts= --themes= -o $@ $(ISO_ROOT) > $(BUILD)/grub-mkrescue.log 2>&1 || \
		{ cat $(BUILD)/grub-mkrescue.log >&2; rm -f $@; exit 1; }

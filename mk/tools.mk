# Tool check: every tool the build needs, the Debian package that provides it,
# and what happens when one is missing (installed when we are root, otherwise
# the build stops with the exact apt-get command).
#
#   tool-or-file:package pairs; a leading '/' means "a file must exist".
REQUIRED_TOOLS := \
	gcc:gcc make:make ld:binutils nasm:nasm python3:python3 \
	/usr/include/efi/efi.h:gnu-efi /usr/lib/crt0-efi-x86_64.o:gnu-efi \
	mformat:mtools mkfs.vfat:dosfstools sgdisk:gdisk \
	qemu-system-x86_64:qemu-system-x86 /usr/share/OVMF/OVMF_CODE_4M.fd:ovmf \
	grub-mkrescue:grub-common /usr/lib/grub/i386-pc/multiboot2.mod:grub-pc-bin \
	/usr/lib/grub/x86_64-efi/linux.mod:grub-efi-amd64-bin \
	xorriso:xorriso bochs:bochs /usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_term_gui.so:bochs-term \
	/usr/share/bochs/BIOS-bochs-latest:bochsbios /usr/share/vgabios/vgabios.bin:vgabios \
	/usr/include/cmocka.h:libcmocka-dev spin:spin

# $(BUILD)/.tools-ok is the stamp; delete it to re-check.
$(BUILD)/.tools-ok: mk/tools.mk tools/ensure-tools.sh
	@mkdir -p $(BUILD)
	@sh tools/ensure-tools.sh $(REQUIRED_TOOLS)
	@touch $@

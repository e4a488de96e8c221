# The USB stick image, $(BUILD)/vigil.img: a raw disk with a GPT and one EFI
# System Partition (FAT32) holding the ESP tree of boot/efi/efi.mk:
#
#   EFI/BOOT/BOOTX64.EFI   the loader, at the removable-media default path
#                          (UEFI 2.10 section 3.5.1.1), so no boot entry is needed
#   vigil/vigil.elf        the kernel
#   vigil/cmdline.txt      the command line ($(CMDLINE), may be empty)
#
#   make image                         image with the build's command line
#   make image CMDLINE="maxcpus=2"     another command line (rewrites cmdline.txt)
#   sudo dd if=build/vigil.img of=/dev/sdX bs=4M conv=fsync
#
# Built without root: sgdisk writes the partition table into a plain file and
# mtools formats and fills the partition at its byte offset (file@@offset), so
# nothing is mounted and no loop device is needed.
#
# Layout (512-byte sectors): the protective MBR and the GPT in the first 34
# sectors, the ESP from sector 2048 (1 MiB, the alignment every tool uses) for
# IMAGE_ESP_MB MiB, the backup GPT in the last 33 sectors.  FAT32 because the
# UEFI specification (section 13.3.1.1) requires it for the system partition
# on fixed disks and firmware on real machines is picky; with 512-byte
# clusters 62 MiB is comfortably above FAT32's 65525-cluster minimum.

IMAGE         := $(BUILD)/vigil.img
IMAGE_ESP_MB  ?= 62
IMAGE_ESP_LBA := 2048
# The partition, then 1 MiB for the backup GPT (33 sectors needed).
IMAGE_MB      := $(shell echo $$(( $(IMAGE_ESP_MB) + 2 )))
IMAGE_ESP_SECTORS := $(shell echo $$(( $(IMAGE_ESP_MB) * 2048 )))
IMAGE_ESP_OFFSET  := $(shell echo $$(( $(IMAGE_ESP_LBA) * 512 )))
# The EFI System Partition type (sgdisk's shorthand ef00 for
# C12A7328-F81F-11D2-BA4B-00A0C93EC93B, UEFI 2.10 table 5-9).
IMAGE_ESP_TYPE := ef00

.PHONY: image
image: $(IMAGE)

$(IMAGE): $(EFI_ESP)/EFI/BOOT/BOOTX64.EFI $(EFI_ESP)/vigil/vigil.elf $(EFI_ESP)/vigil/cmdline.txt \
		mk/image.mk | $(BUILD)/.tools-ok
	@echo "  IMAGE   $@"
	$(Q)rm -f $@.tmp
	$(Q)truncate -s $(IMAGE_MB)M $@.tmp
	$(Q)sgdisk --clear \
		--new=1:$(IMAGE_ESP_LBA):+$(IMAGE_ESP_SECTORS) --typecode=1:$(IMAGE_ESP_TYPE) \
		--change-name=1:'EFI System' $@.tmp > $(BUILD)/image-sgdisk.log 2>&1 || \
		{ cat $(BUILD)/image-sgdisk.log >&2; rm -f $@.tmp; exit 1; }
	$(Q)mformat -i $@.tmp@@$(IMAGE_ESP_OFFSET) -F -T $(IMAGE_ESP_SECTORS) -h 64 -s 32 \
		-H $(IMAGE_ESP_LBA) -v VIGIL ::
	$(Q)mmd -i $@.tmp@@$(IMAGE_ESP_OFFSET) ::/EFI ::/EFI/BOOT ::/vigil
	$(Q)mcopy -i $@.tmp@@$(IMAGE_ESP_OFFSET) $(EFI_ESP)/EFI/BOOT/BOOTX64.EFI ::/EFI/BOOT/BOOTX64.EFI
	$(Q)mcopy -i $@.tmp@@$(IMAGE_ESP_OFFSET) $(EFI_ESP)/vigil/vigil.elf $(EFI_ESP)/vigil/cmdline.txt ::/vigil/
	$(Q)mv $@.tmp $@

# vigil: one entry point for people and CI.
#
#   make          kernel + EFI loader, ESP tree at $(BUILD)/esp
#   make run      boot in QEMU (q35, OVMF, TCG) with the serial console here
#   make check    host unit tests, Spin models + QEMU and Bochs boots driven by tools/harness
#   make model    the Spin model checks of tests/model (docs/models.md)
#   make iso      GRUB (Multiboot2) image at $(BUILD)/vigil.iso
#   make image    USB stick image (GPT + EFI System Partition) at $(BUILD)/vigil.img
#   make bench    boot and print the benchmark figures
#   make debug    QEMU stopped, waiting for gdb (symbols: $(BUILD)/kernel/vigil.elf)
#   make clean
#
# Variables: BUILD (output dir), SMP (CPUs for run), CPU (QEMU -cpu), CMDLINE
# (kernel command line for run), ACCEL (tcg, or kvm: -cpu host, needs nested VMX/SVM).

BUILD   ?= build
SMP     ?= 4
CPU     ?= max
ACCEL   ?= tcg
MEM     ?= 512M
CMDLINE ?=
# V=1 shows every command.
Q       := $(if $(V),,@)

.PHONY: all run check iso bench debug clean unit scenarios lint tools harness-selftest model
all: $(BUILD)/.tools-ok kernel efi

include mk/tools.mk
include mk/kernel.mk
include boot/efi/efi.mk
include mk/iso.mk
include mk/image.mk
include tests/unit/unit.mk

HARNESS := python3 tools/harness.py --build $(BUILD)

run: all
	$(HARNESS) run --smp $(SMP) --cpu $(CPU) --accel $(ACCEL) --mem $(MEM) $(if $(CMDLINE),--cmdline "$(CMDLINE)")

debug: all
	@echo "QEMU waits for gdb on :1234.  In another terminal:"
	@echo "    gdb $(BUILD)/kernel/vigil.elf -ex 'target remote :1234'"
	$(HARNESS) run --smp $(SMP) --cpu $(CPU) --accel $(ACCEL) --mem $(MEM) --gdb $(if $(CMDLINE),--cmdline "$(CMDLINE)")

check: all iso image unit model lint harness-selftest
	$(HARNESS) check --accel kvm --junit $(BUILD)/junit-kvm.xml tests/scenarios/virt.py
	$(HARNESS) check --jobs 2 --junit $(BUILD)/junit.xml tests/scenarios

# The Spin models of the concurrent protocols and their broken variants.
model: $(BUILD)/.tools-ok
	python3 tools/run-models.py --build $(BUILD) tests/model

# 288 CPUs (x2APIC IDs above 255): needs QEMU 8.1+ under TCG (README "Many CPUs").
.PHONY: check-many-cpus
check-many-cpus: all
	$(HARNESS) check --junit $(BUILD)/junit-many-cpus.xml tests/many-cpus

# The large host-invalidation stress: >= 10,000 invalidations on a live VM
# under QEMU (SVM) and Bochs (VMX), with slot updates, hotplug and suspend
# (docs/invalidation.md, "Stress").  Not in `make check` (it takes minutes).
.PHONY: stress-inval
stress-inval: all iso
	$(HARNESS) check --jobs 2 --junit $(BUILD)/junit-stress-inval.xml tests/stress

# The harness's own tests (no emulator needed).
harness-selftest:
	python3 -m unittest discover -s tests/harness

bench: all
	$(HARNESS) bench --smp $(SMP) --cpu $(CPU) --accel $(ACCEL)

# core/ must stay architecture-neutral: no arch header, no VMX/SVM vocabulary
# (tools/test-layering.sh checks that the lint and the build still enforce it).
lint:
	@sh tools/lint-layering.sh
	@sh tools/test-layering.sh

clean:
	rm -rf $(BUILD)

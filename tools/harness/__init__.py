"""vigil host test harness.

Boots the kernel under QEMU (OVMF, UEFI) or Bochs (GRUB ISO, Multiboot2),
drives the serial console described in docs/console.md, runs the
scenarios in tests/scenarios/ and reports KTAP, JUnit XML and an exit status.

Modules:
  console   serial transports, line rendering, the reply parser, Console
  machine   what every target has in common (process group, temp dir, exit)
  qemu      QEMU q35 + OVMF command line, ESP copy, QMP
  qmp       a small QMP client (events, commands)
  bochs     bochsrc generator, ISO cmdline slot, Bochs process
  acpi      ACPI table builder for deliberately malformed tables
  scenario  the scenario format: @scenario, targets, the Session API
  runner    groups scenarios into boots, runs them (in parallel with --jobs)
  report    KTAP lines, JUnit XML, the summary line
  cli       the command line (tools/harness.py)
"""

__version__ = "1.0"
